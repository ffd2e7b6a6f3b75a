// Range selection on histograms.
#include "ops/range_methods.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace quantd {
namespace {

double Total(std::span<const double> counts) {
  return std::accumulate(counts.begin(), counts.end(), 0.0);
}

double Center(HistogramView h, size_t bin) { return h.lo + (bin + 0.5) * h.bin_width(); }

// KL(p || q) of two unnormalised distributions over the same bins, with
// sum p log(p / q) over p > 0 (infinite where q is 0 and p is not).
double KlDivergence(const std::vector<double>& p, const std::vector<double>& q) {
  const double sp = std::accumulate(p.begin(), p.end(), 0.0);
  const double sq = std::accumulate(q.begin(), q.end(), 0.0);
  if (sp == 0 || sq == 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0) continue;
    if (q[i] == 0) return std::numeric_limits<double>::infinity();
    const double pi = p[i] / sp, qi = q[i] / sq;
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

}  // namespace

double HistogramQuantile(HistogramView h, double fraction) {
  const double total = Total(h.counts);
  if (total == 0) return h.lo;
  // The r-th smallest value (1-based), placed evenly inside its bin.
  auto order_statistic = [&](double r) {
    double below = 0;
    for (size_t b = 0; b < h.counts.size(); ++b) {
      const double c = h.counts[b];
      if (c > 0 && below + c >= r) {
        return h.lo + (static_cast<double>(b) + std::clamp((r - below - 0.5) / c, 0.0, 1.0)) *
                          h.bin_width();
      }
      below += c;
    }
    return h.hi;
  };
  // numpy's (and torch.quantile's) linear definition: between the order
  // statistics at ranks floor(q) and floor(q) + 1, q = 1 + fraction (n - 1).
  // Each is placed within its bin, so the result is within one bin of the
  // exact quantile even where empty bins separate the two.
  const double q = 1.0 + std::clamp(fraction, 0.0, 1.0) * (total - 1.0);
  const double r = std::floor(q);
  const double lower = order_statistic(r);
  if (q == r) return lower;
  return lower + (q - r) * (order_statistic(std::min(r + 1.0, total)) - lower);
}

double EntropyThreshold(HistogramView magnitudes, int levels) {
  const std::span<const double> hist = magnitudes.counts;
  const int64_t bins = static_cast<int64_t>(hist.size());
  if (bins <= levels || Total(hist) == 0) return magnitudes.hi;
  // At most about 256 candidate thresholds, so that cost stays bins * 256.
  const int64_t stride = std::max<int64_t>(1, (bins - levels + 255) / 256);
  double best_kl = std::numeric_limits<double>::infinity();
  int64_t best = bins;
  std::vector<double> p, q;
  for (int64_t i = levels; i <= bins; i += stride) {
    // The reference: the first i bins, the clipped outliers folded into the last.
    p.assign(hist.begin(), hist.begin() + i);
    for (int64_t b = i; b < bins; ++b) p[i - 1] += hist[b];
    // The candidate: the first i bins merged into `levels` bins, each spread
    // evenly back over the source bins that were not empty.
    q.assign(i, 0.0);
    const int64_t merged = i / levels;
    for (int64_t j = 0; j < levels; ++j) {
      const int64_t start = j * merged;
      const int64_t stop = j == levels - 1 ? i : start + merged;
      double sum = 0;
      int64_t nonzero = 0;
      for (int64_t b = start; b < stop; ++b) {
        sum += hist[b];
        nonzero += hist[b] != 0;
      }
      if (nonzero == 0) continue;
      for (int64_t b = start; b < stop; ++b) {
        if (hist[b] != 0) q[b] = sum / static_cast<double>(nonzero);
      }
    }
    const double kl = KlDivergence(p, q);
    if (kl < best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  return magnitudes.lo + best * magnitudes.bin_width();
}

std::pair<float, float> MseRange(HistogramView h, bool magnitudes, const RoundTripError& error) {
  constexpr int kCandidates = 128;
  std::pair<float, float> best{static_cast<float>(magnitudes ? -h.hi : h.lo),
                               static_cast<float>(h.hi)};
  if (Total(h.counts) == 0) return best;
  double best_error = std::numeric_limits<double>::infinity();
  for (int k = kCandidates; k >= 1; --k) {
    const double a = static_cast<double>(k) / kCandidates;
    const float hi = static_cast<float>(h.hi * a);
    const float lo = static_cast<float>(magnitudes ? -h.hi * a : h.lo * a);
    double sum = 0;
    for (size_t b = 0; b < h.counts.size() && sum < best_error; ++b) {
      if (h.counts[b] != 0) sum += h.counts[b] * error(Center(h, b), lo, hi);
    }
    // Strictly better only, so that ties keep the wider range.
    if (sum < best_error) {
      best_error = sum;
      best = {lo, hi};
    }
  }
  return best;
}

std::vector<float> KMeansCentroids(HistogramView h, int k) {
  const size_t bins = h.counts.size();
  const double total = Total(h.counts);
  std::vector<double> centroids(k);
  for (int j = 0; j < k; ++j) {
    centroids[j] = total > 0 ? HistogramQuantile(h, (j + 0.5) / k) : 0.0;
  }
  std::vector<double> sum(k), weight(k);
  for (int iteration = 0; iteration < 100 && total > 0; ++iteration) {
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(weight.begin(), weight.end(), 0.0);
    // Centroids stay sorted, so the assignment is a sweep over the bins.
    int j = 0;
    for (size_t b = 0; b < bins; ++b) {
      if (h.counts[b] == 0) continue;
      const double x = Center(h, b);
      while (j + 1 < k && std::fabs(centroids[j + 1] - x) < std::fabs(centroids[j] - x)) ++j;
      sum[j] += h.counts[b] * x;
      weight[j] += h.counts[b];
    }
    bool moved = false;
    for (int c = 0; c < k; ++c) {
      if (weight[c] == 0) continue;
      const double next = sum[c] / weight[c];
      moved |= next != centroids[c];
      centroids[c] = next;
    }
    std::sort(centroids.begin(), centroids.end());
    if (!moved) break;
  }
  return std::vector<float>(centroids.begin(), centroids.end());
}

}  // namespace quantd
