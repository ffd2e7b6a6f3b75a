// Turning running error sums into the reported statistics.
#include "quantd/error_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantd {

void ErrorSums::Add(double x, double y) {
  const double e = x - y;
  const double abs_e = std::fabs(e);
  ++count;
  sum_sq_x += x * x;
  sum_sq_y += y * y;
  sum_xy += x * y;
  sum_sq_error += e * e;
  sum_abs_error += abs_e;
  if (abs_e > max_abs_error) max_abs_error = abs_e;
}

void ErrorSums::Merge(const ErrorSums& other) {
  count += other.count;
  sum_sq_x += other.sum_sq_x;
  sum_sq_y += other.sum_sq_y;
  sum_xy += other.sum_xy;
  sum_sq_error += other.sum_sq_error;
  sum_abs_error += other.sum_abs_error;
  max_abs_error = std::max(max_abs_error, other.max_abs_error);
  clipped += other.clipped;
}

ErrorStats FinishErrorStats(const ErrorSums& sums) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  ErrorStats stats;
  stats.count = sums.count;
  stats.sum_abs_error = sums.sum_abs_error;
  stats.max_abs_error = sums.max_abs_error;
  stats.clipped_count = sums.clipped;
  if (sums.count > 0) {
    stats.mse = sums.sum_sq_error / static_cast<double>(sums.count);
    stats.mean_abs_error = sums.sum_abs_error / static_cast<double>(sums.count);
  }

  if (sums.count == 0) {
    stats.sqnr_db = kInf;
  } else if (sums.sum_sq_error == 0) {
    stats.sqnr_db = sums.sum_sq_x == 0 ? 0 : kInf;
  } else if (sums.sum_sq_x == 0) {
    stats.sqnr_db = -kInf;
  } else {
    stats.sqnr_db = 10 * std::log10(sums.sum_sq_x / sums.sum_sq_error);
  }

  if (sums.sum_sq_x == 0 && sums.sum_sq_y == 0) {
    stats.cosine_similarity = 1;
  } else if (sums.sum_sq_x == 0 || sums.sum_sq_y == 0) {
    stats.cosine_similarity = 0;
  } else {
    const double c = sums.sum_xy / std::sqrt(sums.sum_sq_x * sums.sum_sq_y);
    stats.cosine_similarity = std::clamp(c, -1.0, 1.0);
  }
  return stats;
}

}  // namespace quantd
