// Power-of-two-range histograms.
#include "ops/fine_histogram.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

namespace quantd {

double FineHistogram::range() const { return std::ldexp(1.0, range_exponent_); }

void FineHistogram::Cover(double amax) {
  if (!(amax > 0)) return;  // Zeros fit in any range.
  int32_t exponent = std::ilogb(amax);
  if (std::ldexp(1.0, exponent) < amax) ++exponent;  // R >= amax.
  exponent = std::max(exponent, kMinRangeExponent);
  if (exponent > range_exponent_) GrowTo(exponent);
}

void FineHistogram::GrowTo(int32_t exponent) {
  const int64_t half = bins() / 2;
  const int32_t shift = exponent - range_exponent_;
  range_exponent_ = exponent;
  if (shift >= 62) {
    // Everything lands in the bins either side of zero.
    int64_t negative = 0, positive = 0;
    for (int64_t i = 0; i < bins(); ++i) (i < half ? negative : positive) += counts_[i];
    std::fill(counts_.begin(), counts_.end(), 0);
    counts_[half - 1] = negative;
    counts_[half] = positive;
    return;
  }
  // Bin i holds [(i - half) w, (i - half + 1) w); at width w * 2^shift it
  // is bin half + floor((i - half) / 2^shift), which stays on its side of 0.
  std::vector<int64_t> grown(bins(), 0);
  for (int64_t i = 0; i < bins(); ++i) {
    if (counts_[i] == 0) continue;
    const int64_t offset = i - half;
    const int64_t moved = offset >= 0 ? offset >> shift : -((-offset - 1) >> shift) - 1;
    grown[half + moved] += counts_[i];
  }
  counts_ = std::move(grown);
}

int64_t FineHistogram::BinOf(double x) const {
  // w = 2R / bins, a power of two: x / w is exact, and so is its floor.
  const int64_t half = bins() / 2;
  const double scaled = std::ldexp(x, std::ilogb(static_cast<double>(half)) - range_exponent_);
  const int64_t bin = half + static_cast<int64_t>(std::floor(scaled));
  return std::clamp<int64_t>(bin, 0, bins() - 1);  // x == R belongs to the last bin.
}

void FineHistogram::Merge(const FineHistogram& other) {
  if (other.range_exponent_ > range_exponent_) GrowTo(other.range_exponent_);
  if (other.range_exponent_ == range_exponent_) {
    for (int64_t i = 0; i < bins(); ++i) counts_[i] += other.counts_[i];
    return;
  }
  FineHistogram grown = other;
  grown.GrowTo(range_exponent_);
  for (int64_t i = 0; i < bins(); ++i) counts_[i] += grown.counts_[i];
}

std::vector<double> FineHistogram::Rebin(bool magnitudes, double lo, double hi,
                                         int64_t bins_out) const {
  std::vector<double> out(bins_out, 0.0);
  const int64_t half = bins() / 2;
  const double width = range() / static_cast<double>(half);
  const double coarse = (hi - lo) / static_cast<double>(bins_out);
  for (int64_t i = 0; i < bins(); ++i) {
    if (counts_[i] == 0) continue;
    double a = static_cast<double>(i - half) * width, b = a + width;
    if (magnitudes && b <= 0) std::tie(a, b) = std::pair(-b, -a);
    const double count = static_cast<double>(counts_[i]);
    if (!(coarse > 0)) {
      out[0] += count;
      continue;
    }
    // The fine bin's share of each coarse bin it overlaps, clamped to [lo, hi].
    const double from = std::clamp(a, lo, hi), to = std::clamp(b, lo, hi);
    if (to <= from) {
      out[b <= lo ? 0 : bins_out - 1] += count;
      continue;
    }
    const double outside = count * (1.0 - (to - from) / width);
    if (outside > 0) out[a < lo ? 0 : bins_out - 1] += outside;
    for (int64_t k = HistogramBin(from, lo, hi, bins_out); k < bins_out; ++k) {
      const double k_lo = lo + static_cast<double>(k) * coarse;
      if (k_lo >= to) break;
      const double overlap = std::min(to, k_lo + coarse) - std::max(from, k_lo);
      if (overlap > 0) out[k] += count * overlap / width;
    }
  }
  return out;
}

}  // namespace quantd
