// The special cases of the error statistics, as API.md defines them.
#include "quantd/error_stats.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace quantd {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ErrorStatsTest, EmptyIsExact) {
  const ErrorStats s = FinishErrorStats(ErrorSums{});
  EXPECT_EQ(s.count, 0);
  EXPECT_EQ(s.mse, 0);
  EXPECT_EQ(s.sum_abs_error, 0);
  EXPECT_EQ(s.sqnr_db, kInf);
  EXPECT_EQ(s.cosine_similarity, 1);
}

TEST(ErrorStatsTest, AllZeroAndExactIsZeroDecibels) {
  ErrorSums sums;
  sums.Add(0, 0);
  sums.Add(0, 0);
  const ErrorStats s = FinishErrorStats(sums);
  EXPECT_EQ(s.sqnr_db, 0);
  EXPECT_EQ(s.cosine_similarity, 1);
}

TEST(ErrorStatsTest, AllZeroWithErrorIsMinusInfinity) {
  ErrorSums sums;
  sums.Add(0, 0.5);
  const ErrorStats s = FinishErrorStats(sums);
  EXPECT_EQ(s.sqnr_db, -kInf);
  EXPECT_EQ(s.cosine_similarity, 0);
}

TEST(ErrorStatsTest, ExactNonZeroIsPlusInfinity) {
  ErrorSums sums;
  sums.Add(2, 2);
  EXPECT_EQ(FinishErrorStats(sums).sqnr_db, kInf);
}

TEST(ErrorStatsTest, HandComputedValues) {
  // x = [1, -2, 3], x' = [1.5, -2, 2]: errors -0.5, 0, 1.
  ErrorSums sums;
  sums.Add(1, 1.5);
  sums.Add(-2, -2);
  sums.Add(3, 2);
  sums.clipped = 1;
  const ErrorStats s = FinishErrorStats(sums);
  EXPECT_EQ(s.count, 3);
  EXPECT_DOUBLE_EQ(s.mse, 1.25 / 3);
  EXPECT_DOUBLE_EQ(s.sum_abs_error, 1.5);
  EXPECT_DOUBLE_EQ(s.mean_abs_error, 0.5);
  EXPECT_DOUBLE_EQ(s.max_abs_error, 1);
  EXPECT_DOUBLE_EQ(s.sqnr_db, 10 * std::log10(14 / 1.25));
  EXPECT_DOUBLE_EQ(s.cosine_similarity, (1.5 + 4 + 6) / std::sqrt(14 * (2.25 + 4 + 4)));
  EXPECT_EQ(s.clipped_count, 1);
}

TEST(ErrorStatsTest, MergeEqualsOnePass) {
  ErrorSums a, b, all;
  for (int i = 0; i < 10; ++i) {
    const double x = i * 0.37 - 1, y = x + (i % 3) * 0.01;
    (i < 4 ? a : b).Add(x, y);
    all.Add(x, y);
  }
  a.Merge(b);
  EXPECT_EQ(a.count, all.count);
  EXPECT_DOUBLE_EQ(a.sum_sq_error, all.sum_sq_error);
  EXPECT_DOUBLE_EQ(a.max_abs_error, all.max_abs_error);
}

}  // namespace
}  // namespace quantd
