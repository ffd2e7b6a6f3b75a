// Per-slot statistics passes.
#include "ops/slot_statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "formats/element_io.h"
#include "kernels/slot_spans.h"
#include "ops/parallel.h"
#include "ops/range_methods.h"

namespace quantd {
namespace {

// |x| / amax in units of 2^-40: exact integer sums of up to 2^87 elements
// in 128 bits, so the sum does not depend on the order of addition.
constexpr double kFixedPointOne = 0x1p40;

template <typename Fn>
void ForEachElement(const SlotTensor& t, int64_t block, Fn fn) {
  ForEachSlotSpan(t.layout, block * kBlockElements, BlockEnd(t.count, block), [&](SlotSpan span) {
    for (int64_t k = 0; k < span.count; ++k) {
      const int64_t i = span.start + k;
      fn(span.slot + k * span.stride, static_cast<float>(LoadFloatElement(t.src.dtype, t.src.data, i)));
    }
    return true;
  });
}

}  // namespace

absl::Status FirstNonFinite::Error(FloatSource src, absl::string_view field,
                                   int64_t offset) const {
  const int64_t i = index_.load();
  return absl::InvalidArgumentError(absl::StrCat(
      field, "[", offset + i, "] = ", LoadFloatElement(src.dtype, src.data, i),
      " is not a finite float32; only finite values can be quantized"));
}

absl::Status ObserveMinMax(const SlotTensor& t, const KernelTable& kernels,
                           const ExecutionContext& context, FirstNonFinite* bad,
                           std::vector<float>* mins, std::vector<float>* maxs) {
  const int64_t slots = t.layout.slots();
  const int workers = WorkerCount(context);
  mins->assign(workers * slots, std::numeric_limits<float>::infinity());
  maxs->assign(workers * slots, -std::numeric_limits<float>::infinity());
  absl::Status status = RunBlocks(context, BlockCount(t.count), [&](int64_t block, int worker) {
    float* worker_mins = mins->data() + worker * slots;
    float* worker_maxs = maxs->data() + worker * slots;
    ForEachSlotSpan(t.layout, block * kBlockElements, BlockEnd(t.count, block), [&](SlotSpan span) {
      const int64_t index = kernels.min_max(t.src, span, worker_mins, worker_maxs);
      if (index >= 0) bad->Note(index);
      return index < 0;
    });
  });
  if (!status.ok()) return status;
  for (int w = 1; w < workers; ++w) {
    for (int64_t c = 0; c < slots; ++c) {
      (*mins)[c] = std::min((*mins)[c], (*mins)[w * slots + c]);
      (*maxs)[c] = std::max((*maxs)[c], (*maxs)[w * slots + c]);
    }
  }
  mins->resize(slots);
  maxs->resize(slots);
  return absl::OkStatus();
}

absl::Status ObserveAbsMeans(const SlotTensor& t, const std::vector<float>& amax,
                             const ExecutionContext& context, std::vector<float>* means) {
  const int64_t slots = t.layout.slots();
  const int workers = WorkerCount(context);
  std::vector<unsigned __int128> sums(workers * slots, 0);
  std::vector<double> unit(slots);
  for (int64_t c = 0; c < slots; ++c) unit[c] = amax[c] > 0 ? kFixedPointOne / amax[c] : 0.0;
  absl::Status status = RunBlocks(context, BlockCount(t.count), [&](int64_t block, int worker) {
    unsigned __int128* worker_sums = sums.data() + worker * slots;
    ForEachElement(t, block, [&](int64_t c, float x) {
      worker_sums[c] += static_cast<uint64_t>(std::nearbyint(std::fabs(static_cast<double>(x)) * unit[c]));
    });
  });
  if (!status.ok()) return status;
  means->assign(slots, 0.0f);
  for (int64_t c = 0; c < slots; ++c) {
    unsigned __int128 total = 0;
    for (int w = 0; w < workers; ++w) total += sums[w * slots + c];
    const int64_t n = t.layout.SlotElements(c);
    if (n > 0 && unit[c] > 0) {
      (*means)[c] = static_cast<float>(static_cast<double>(total) / unit[c] / static_cast<double>(n));
    }
  }
  return absl::OkStatus();
}

absl::Status ObserveHistograms(const SlotTensor& t, bool magnitudes, const std::vector<float>& lo,
                               const std::vector<float>& hi, int64_t bins,
                               const ExecutionContext& context, std::vector<double>* counts) {
  const int64_t slots = t.layout.slots();
  const int workers = WorkerCount(context);
  std::vector<uint64_t> partial(workers * slots * bins, 0);
  absl::Status status = RunBlocks(context, BlockCount(t.count), [&](int64_t block, int worker) {
    uint64_t* worker_counts = partial.data() + worker * slots * bins;
    ForEachElement(t, block, [&](int64_t c, float x) {
      const double v = magnitudes ? std::fabs(static_cast<double>(x)) : x;
      ++worker_counts[c * bins + HistogramBin(v, lo[c], hi[c], bins)];
    });
  });
  if (!status.ok()) return status;
  counts->assign(slots * bins, 0.0);
  for (int64_t k = 0; k < slots * bins; ++k) {
    uint64_t total = 0;
    for (int w = 0; w < workers; ++w) total += partial[w * slots * bins + k];
    (*counts)[k] = static_cast<double>(total);
  }
  return absl::OkStatus();
}

}  // namespace quantd
