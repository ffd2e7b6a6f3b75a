// Histograms that merge exactly: equal bins over [-R, R] with R a power of
// two and the bin width a power of two, so a value's bin is floor(x / w)
// exactly, growing R re-bins by merging neighbours, and two histograms
// brought to the same R add bin by bin. Whatever order batches arrive in
// and however they are split over streams, the counts come out the same.
#ifndef QUANTD_OPS_FINE_HISTOGRAM_H_
#define QUANTD_OPS_FINE_HISTOGRAM_H_

#include <cstdint>
#include <vector>

#include "ops/range_methods.h"

namespace quantd {

class FineHistogram {
 public:
  // `bins` is a power of two, at least 4. Empty histograms have no range yet.
  explicit FineHistogram(int64_t bins = 0) : counts_(bins, 0) {}
  // Restores a histogram over [-2^range_exponent, 2^range_exponent].
  FineHistogram(int32_t range_exponent, std::vector<int64_t> counts)
      : range_exponent_(range_exponent), counts_(std::move(counts)) {}

  int64_t bins() const { return static_cast<int64_t>(counts_.size()); }
  int32_t range_exponent() const { return range_exponent_; }
  double range() const;  // R.
  const std::vector<int64_t>& counts() const { return counts_; }

  // Makes R at least `amax` (the smallest sufficient power of two, never
  // below the current R nor below 2^kMinRangeExponent), merging bins as it
  // grows.
  void Cover(double amax);
  // The bin of x; x must lie within [-R, R].
  int64_t BinOf(double x) const;
  void Add(int64_t bin, int64_t count) { counts_[bin] += count; }
  // Adds another histogram of the same bin count, after growing both to the
  // larger range.
  void Merge(const FineHistogram& other);

  // The counts re-binned onto `bins` equal bins over [lo, hi] of |x|
  // (magnitudes) or of x, each fine bin's count shared among the coarse
  // bins it overlaps in proportion to the overlap (mass outside [lo, hi]
  // goes to the end bins). Sharing, rather than giving each fine bin to one
  // coarse bin, keeps the coarse histogram free of the comb that two
  // incommensurate bin widths would leave.
  std::vector<double> Rebin(bool magnitudes, double lo, double hi, int64_t bins) const;

 private:
  void GrowTo(int32_t exponent);

  // Empty (no value seen that needs a range) below the smallest float.
  int32_t range_exponent_ = kNoRange;
  std::vector<int64_t> counts_;

 public:
  static constexpr int32_t kNoRange = -160;
  // The smallest range: with at most 2^18 bins, a bin is then at least
  // 2^-127 wide, so its reciprocal, which bins values in float32, stays
  // finite. Below it float32 has no precision left to bin anyway.
  static constexpr int32_t kMinRangeExponent = -110;
};

}  // namespace quantd

#endif  // QUANTD_OPS_FINE_HISTOGRAM_H_
