// Choosing a clipping range from a histogram: percentile, TensorRT's
// KL-divergence threshold, minimum expected squared error, and k-means
// codebooks. Pure functions of the histogram, shared by Quantize (one
// tensor) and Calibrate (a stream of batches).
#ifndef QUANTD_OPS_RANGE_METHODS_H_
#define QUANTD_OPS_RANGE_METHODS_H_

#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

namespace quantd {

// counts.size() equal bins over [lo, hi]; the last bin holds hi itself.
// Counts are doubles: re-binned histograms carry fractions of bins.
struct HistogramView {
  double lo = 0;
  double hi = 0;
  std::span<const double> counts;

  double bin_width() const { return (hi - lo) / static_cast<double>(counts.size()); }
};

// The bin of value x in a histogram of `bins` bins over [lo, hi].
inline int64_t HistogramBin(double x, double lo, double hi, int64_t bins) {
  if (!(hi > lo)) return 0;
  const int64_t b = static_cast<int64_t>((x - lo) / (hi - lo) * static_cast<double>(bins));
  return b < 0 ? 0 : b >= bins ? bins - 1 : b;
}

// The `fraction` (0..1) quantile, by the rank numpy's linear definition
// uses and linear interpolation inside the bin that holds that rank: within
// one bin width of the exact quantile.
double HistogramQuantile(HistogramView h, double fraction);

// TensorRT's entropy calibration (Migacz, GTC 2017) on a histogram of |x|
// over [0, amax]: the threshold, at a bin edge, whose clipped and
// `levels`-bin quantized distribution has the least KL divergence from the
// clipped one. `levels` is 128 for 8 bits, 2^(bits-1) in general.
double EntropyThreshold(HistogramView magnitudes, int levels);

// The squared error of quantizing value v with the range [lo, hi], as the
// target quantizes: the caller supplies it.
using RoundTripError = std::function<double(double v, float lo, float hi)>;

// The range that minimises the expected squared error over the histogram's
// bin centres, among 128 candidates: [-t, t] for a histogram of |x|
// (magnitudes), [a lo, a hi] shrinking both ends for a histogram of x.
std::pair<float, float> MseRange(HistogramView h, bool magnitudes, const RoundTripError& error);

// k ascending centroids of the histogram's mass by Lloyd's algorithm on the
// bin centres (weighted by their counts), started at the mass quantiles.
// Centroids of empty clusters stay where they were, so the result may hold
// equal values.
std::vector<float> KMeansCentroids(HistogramView h, int k);

}  // namespace quantd

#endif  // QUANTD_OPS_RANGE_METHODS_H_
