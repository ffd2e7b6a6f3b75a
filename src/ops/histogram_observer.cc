// One-pass histogram observation.
#include "ops/histogram_observer.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "formats/element_io.h"
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

// floor(x * scale) + half, exactly, clamped into the histogram (x == range
// lands in the last bin). A negative product that underflowed to -0 is a
// value just below zero: bin half - 1.
inline int64_t Bin(float x, const SlotBinning& b, int64_t half) {
  const float v = x * b.scale;
  const int64_t t = static_cast<int64_t>(v);
  int64_t floor = t - (v < static_cast<float>(t));
  if (x < 0 && v == 0) floor = -1;
  return std::min(half + floor, 2 * half - 1);
}

}  // namespace

absl::Status ObserveIntoHistograms(const SlotTensor& t, const ExecutionContext& context,
                                   FirstNonFinite* bad, std::vector<FineHistogram>* histograms,
                                   std::vector<float>* mins, std::vector<float>* maxs) {
  const int64_t slots = t.layout.slots();
  const int64_t bins = (*histograms)[0].bins(), half = bins / 2;
  const int workers = WorkerCount(context);
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
        // One slot: everything it needs stays in registers.
        const SlotBinning b = binning[span.slot];
        int64_t* c = mine.counts.data() + span.slot * bins;
        float lo = mine.lo[span.slot], hi = mine.hi[span.slot];
        bool beyond = false;
        for (int64_t k = 0; k < span.count; ++k) {
          const float x = Load(t.src.dtype, t.src.data, span.start + k);
          if (std::fabs(x) <= b.range) {
            ++c[Bin(x, b, half)];
          } else if (!std::isfinite(x)) {
            bad->Note(span.start + k);
            return false;
          } else {
            beyond = true;
          }
          lo = std::min(lo, x);
          hi = std::max(hi, x);
        }
        mine.lo[span.slot] = lo;
        mine.hi[span.slot] = hi;
        mine.beyond[span.slot] |= beyond;
        return true;
      }
      for (int64_t k = 0; k < span.count; ++k) {
        const int64_t s = span.slot + k;
        const float x = Load(t.src.dtype, t.src.data, span.start + k);
        if (std::fabs(x) <= binning[s].range) {
          ++mine.counts[s * bins + Bin(x, binning[s], half)];
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
      for (int64_t k = 0; k < span.count; ++k) {
        const int64_t s = span.slot + k * span.stride;
        if (!grown[s]) continue;
        const float x = Load(t.src.dtype, t.src.data, span.start + k);
        if (!(std::fabs(x) <= before[s].range)) ++c[s * bins + Bin(x, binning[s], half)];
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
