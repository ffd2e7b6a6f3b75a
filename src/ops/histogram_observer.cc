// One-pass histogram observation.
#include "ops/histogram_observer.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "formats/element_io.h"
#include "kernels/kernels.h"
#include "kernels/slot_spans.h"
#include "ops/parallel.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

// What binning needs of one slot's histogram, in float32: x * scale is x / w
// exactly (w a power of two; |x| <= range keeps it finite).
struct SlotBinning {
  float range = -1;  // Below any |x|: nothing is covered yet.
  float scale = 0;
};

SlotBinning BinningOf(const FineHistogram& h) {
  if (h.range_exponent() == FineHistogram::kNoRange) return {};
  const int half_log2 = std::countr_zero(static_cast<uint64_t>(h.bins() / 2));
  return {static_cast<float>(h.range()), std::ldexp(1.0f, half_log2 - h.range_exponent())};
}

float Load(DType dtype, const std::byte* data, int64_t i) {
  if (dtype == DType::kFloat32) {
    float x;
    std::memcpy(&x, data + 4 * i, 4);
    return x;
  }
  return static_cast<float>(LoadFloatElement(dtype, data, i));
}

// The kernel's arguments for one slot's histogram, counting lower < |x| <= b.range.
HistogramArgs KernelArgs(const SlotTensor& t, const SlotBinning& b, float lower, int64_t half,
                         int64_t* counts) {
  HistogramArgs args;
  args.src = FloatSource{t.src.dtype, t.src.data};
  args.lower = lower;
  args.upper = b.range;
  args.scale = b.scale;
  args.half = half;
  args.counts = counts;
  return args;
}

}  // namespace

absl::Status ObserveIntoHistograms(const SlotTensor& t, const ExecutionContext& context,
                                   FirstNonFinite* bad, std::vector<FineHistogram>* histograms,
                                   std::vector<float>* mins, std::vector<float>* maxs) {
  const int64_t slots = t.layout.slots();
  const int64_t bins = (*histograms)[0].bins(), half = bins / 2;
  const int workers = WorkerCount(context);
  const KernelTable& kernels = SelectKernels(context.max_isa);
  std::vector<SlotBinning> binning(slots);
  for (int64_t s = 0; s < slots; ++s) binning[s] = BinningOf((*histograms)[s]);

  // Pass 1: min, max, and the counts of covered values, per worker. Each
  // worker's scratch is its own allocation: neighbours in one array would
  // share cache lines that both workers write for every value.
  struct Scratch {
    std::vector<int64_t> counts;
    std::vector<float> lo, hi;
    std::vector<char> beyond;
  };
  std::vector<Scratch> scratch(workers);
  for (Scratch& w : scratch) {
    w.counts.assign(slots * bins, 0);
    w.lo.assign(slots, std::numeric_limits<float>::infinity());
    w.hi.assign(slots, -std::numeric_limits<float>::infinity());
    w.beyond.assign(slots, 0);
  }
  QUANTD_RETURN_IF_ERROR(RunBlocks(context, BlockCount(t.count), [&](int64_t block, int w) {
    Scratch& mine = scratch[w];
    ForEachSlotSpan(t.layout, block * kBlockElements, BlockEnd(t.count, block), [&](SlotSpan span) {
      if (span.stride == 0) {
        // One slot: the kernel's.
        const int64_t s = span.slot;
        HistogramSeen seen{mine.lo[s], mine.hi[s], false};
        const int64_t first_bad = kernels.histogram(
            KernelArgs(t, binning[s], -1, half, mine.counts.data() + s * bins), span, &seen);
        if (first_bad >= 0) {
          bad->Note(first_bad);
          return false;
        }
        mine.lo[s] = seen.lo;
        mine.hi[s] = seen.hi;
        mine.beyond[s] |= seen.beyond;
        return true;
      }
      for (int64_t k = 0; k < span.count; ++k) {
        const int64_t s = span.slot + k;
        const float x = Load(t.src.dtype, t.src.data, span.start + k);
        if (std::fabs(x) <= binning[s].range) {
          ++mine.counts[s * bins + HistogramBin(x, binning[s].scale, half)];
        } else if (!std::isfinite(x)) {
          bad->Note(span.start + k);
          return false;
        } else {
          mine.beyond[s] = 1;
        }
        mine.lo[s] = std::min(mine.lo[s], x);
        mine.hi[s] = std::max(mine.hi[s], x);
      }
      return true;
    });
  }));
  if (bad->found()) return absl::OkStatus();

  mins->assign(slots, std::numeric_limits<float>::infinity());
  maxs->assign(slots, -std::numeric_limits<float>::infinity());
  std::vector<char> grown(slots, 0);
  std::vector<SlotBinning> before = binning;
  for (int64_t s = 0; s < slots; ++s) {
    FineHistogram& h = (*histograms)[s];
    for (const Scratch& w : scratch) {
      (*mins)[s] = std::min((*mins)[s], w.lo[s]);
      (*maxs)[s] = std::max((*maxs)[s], w.hi[s]);
      grown[s] |= w.beyond[s];
      const int64_t* c = w.counts.data() + s * bins;
      for (int64_t b = 0; b < bins; ++b) {
        if (c[b] != 0) h.Add(b, c[b]);
      }
    }
    if (grown[s]) {
      h.Cover(std::max(std::fabs((*mins)[s]), std::fabs((*maxs)[s])));
      binning[s] = BinningOf(h);
    }
  }
  if (std::none_of(grown.begin(), grown.end(), [](char g) { return g != 0; })) {
    return absl::OkStatus();
  }
  // Pass 2: the values the old ranges did not cover, at the grown ranges.
  for (Scratch& w : scratch) std::fill(w.counts.begin(), w.counts.end(), 0);
  QUANTD_RETURN_IF_ERROR(RunBlocks(context, BlockCount(t.count), [&](int64_t block, int w) {
    int64_t* c = scratch[w].counts.data();
    ForEachSlotSpan(t.layout, block * kBlockElements, BlockEnd(t.count, block), [&](SlotSpan span) {
      if (span.stride == 0) {
        const int64_t s = span.slot;
        if (!grown[s]) return true;
        HistogramSeen seen;  // Seen in pass 1 already.
        kernels.histogram(KernelArgs(t, binning[s], before[s].range, half, c + s * bins), span, &seen);
        return true;
      }
      for (int64_t k = 0; k < span.count; ++k) {
        const int64_t s = span.slot + k * span.stride;
        if (!grown[s]) continue;
        const float x = Load(t.src.dtype, t.src.data, span.start + k);
        if (!(std::fabs(x) <= before[s].range)) ++c[s * bins + HistogramBin(x, binning[s].scale, half)];
      }
      return true;
    });
  }));
  for (int64_t s = 0; s < slots; ++s) {
    for (const Scratch& w : scratch) {
      const int64_t* c = w.counts.data() + s * bins;
      for (int64_t b = 0; b < bins; ++b) {
        if (c[b] != 0) (*histograms)[s].Add(b, c[b]);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace quantd
