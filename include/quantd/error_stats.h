// How far a round trip x' lies from x.
#ifndef QUANTD_ERROR_STATS_H_
#define QUANTD_ERROR_STATS_H_

#include <cstdint>

namespace quantd {

struct ErrorStats {
  int64_t count = 0;
  double mse = 0;
  double mean_abs_error = 0;
  double sum_abs_error = 0;
  double max_abs_error = 0;
  // 10 log10(sum x^2 / sum (x - x')^2): +inf when exact or empty, 0 when x
  // and the error are both all zero, -inf when x is all zero and the error
  // is not.
  double sqnr_db = 0;
  // 1 when x and x' are both all zero (or empty), 0 when only one is.
  double cosine_similarity = 1;
  int64_t clipped_count = 0;
};

// Running sums from which ErrorStats are computed. Partial sums from
// different chunks combine with Merge, so threads can each keep their own.
// Nothing here is inline: SIMD kernels, compiled with ISA flags, add to the
// fields directly, and an inline function would let ISA code leak into the
// copy every other file links. One cache line each: threads add to the
// sums of neighbouring blocks once per span, and sums sharing a line would
// bounce it between their cores.
struct alignas(64) ErrorSums {
  int64_t count = 0;
  double sum_sq_x = 0;
  double sum_sq_y = 0;
  double sum_xy = 0;
  double sum_sq_error = 0;
  double sum_abs_error = 0;
  double max_abs_error = 0;
  int64_t clipped = 0;

  // x is the original value, y its round trip.
  void Add(double x, double y);
  void Merge(const ErrorSums& other);
};

ErrorStats FinishErrorStats(const ErrorSums& sums);

}  // namespace quantd

#endif  // QUANTD_ERROR_STATS_H_
