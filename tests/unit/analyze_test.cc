// Analyze's sweep, bit counts and Pareto front, and AUTO's choice.
#include "quantd/analyze.h"

#include <cmath>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "quantd/kernel_pool.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using testing::Float32Tensor;

testing::OwnedTensor Weights(int64_t rows, int64_t cols) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 0.02f);
  std::vector<float> v(rows * cols);
  for (float& x : v) x = d(rng);
  return Float32Tensor({rows, cols}, v);
}

TEST(AnalyzeTest, DefaultSweepRowsInApiOrderWithTheirBits) {
  const auto x = Weights(64, 256);
  KernelPool pool(2, 64);
  ExecutionContext context;
  context.pool = &pool;
  const auto rows = Analyze(x.view(), {}, context);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 17u);
  const double n = 64 * 256;
  struct Expect {
    DType dtype;
    double bits;
  };
  const Expect expect[] = {
      {DType::kBinary, 1 + 32 / n},
      {DType::kTernary, 2 + 32 / n},
      {DType::kInt4, 4 + 32.0 / 32},
      {DType::kInt4, 4 + 32.0 / 64},
      {DType::kInt4, 4 + 32.0 / 128},
      {DType::kNF4, 4 + 32.0 / 32},
      {DType::kNF4, 4 + 32.0 / 64},
      {DType::kNF4, 4 + 32.0 / 128},
      {DType::kInt8, 8 + 32 / n},
      {DType::kInt8, 8 + 64 * 32 / n},
      {DType::kFloat8E4M3FN, 8 + 32 / n},
      {DType::kFloat8E5M2, 8 + 32 / n},
      {DType::kFloat8E4M3FN, 8 + 8.0 / 32},  // MXFP8: E8M0 scales.
      {DType::kFloat4E2M1, 4 + 8.0 / 32},
      {DType::kInt8, 8 + 8.0 / 32},
      {DType::kFloat16, 16 + 32 / n},
      {DType::kBFloat16, 16 + 32 / n},
  };
  for (size_t i = 0; i < rows->size(); ++i) {
    const AnalyzeRow& row = (*rows)[i];
    EXPECT_EQ(row.options.dtype, expect[i].dtype) << i;
    EXPECT_DOUBLE_EQ(row.bits_per_element, expect[i].bits) << i;
    EXPECT_EQ(row.error.count, 64 * 256) << i;
  }
  // More bits buy SQNR along the front; the front's ends are binary (the
  // fewest bits) and the best SQNR.
  EXPECT_TRUE((*rows)[0].pareto);
  EXPECT_LT((*rows)[0].error.sqnr_db, (*rows)[9].error.sqnr_db);
  const AnalyzeRow* best = &(*rows)[0];
  for (const AnalyzeRow& row : *rows) {
    if (row.error.sqnr_db > best->error.sqnr_db) best = &row;
  }
  EXPECT_TRUE(best->pareto);
  // Dominated: NF4 per group of 32 costs what INT4 per group of 32 does;
  // exactly one of the pair can be on the front unless they tie.
  for (const AnalyzeRow& a : *rows) {
    for (const AnalyzeRow& b : *rows) {
      if (a.pareto && b.bits_per_element <= a.bits_per_element) {
        EXPECT_LE(b.error.sqnr_db, a.error.sqnr_db);
      }
    }
  }
}

TEST(AnalyzeTest, EveryRowEqualsItsOwnQuantize) {
  // The rows take their ranges from one shared pass; each must equal a
  // Quantize of its own options, on shapes whose last axis is not a
  // multiple of the shared groups.
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{5, 70}, std::vector<int64_t>{3, 4, 33}, std::vector<int64_t>{130}}) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = std::sin(0.71f * i) * (1 + i % 7) - 0.3f;
    const auto x = Float32Tensor(shape, v);
    const auto rows = Analyze(x.view(), {});
    ASSERT_TRUE(rows.ok()) << rows.status();
    for (const AnalyzeRow& row : *rows) {
      const auto q = Quantize(x.view(), row.options);
      ASSERT_TRUE(q.ok()) << q.status();
      EXPECT_EQ(row.error.sqnr_db, q->result.error.sqnr_db) << DTypeName(row.options.dtype);
      EXPECT_EQ(row.error.clipped_count, q->result.error.clipped_count);
    }
  }
}

TEST(AnalyzeTest, NonFiniteInputIsRejected) {
  const auto x = Float32Tensor({2, 2}, {1.0f, NAN, 2.0f, 3.0f});
  EXPECT_THAT(Analyze(x.view(), {}).status().message(), ::testing::HasSubstr("input.data[1] = nan"));
}

TEST(AnalyzeTest, ResultsDoNotDependOnThePool) {
  const auto x = Weights(16, 128);
  const auto serial = Analyze(x.view(), {});
  KernelPool pool(2, 64);
  ExecutionContext context;
  context.pool = &pool;
  const auto parallel = Analyze(x.view(), {}, context);
  ASSERT_TRUE(serial.ok() && parallel.ok());
  for (size_t i = 0; i < serial->size(); ++i) {
    EXPECT_EQ((*serial)[i].error.sqnr_db, (*parallel)[i].error.sqnr_db) << i;
  }
}

TEST(AnalyzeTest, ABadCandidateIsNamed) {
  const auto x = Weights(4, 8);
  QuantizeOptions good, bad;
  good.dtype = DType::kInt8;
  bad.dtype = DType::kInt8;
  bad.granularity = Granularity::kPerChannel;
  bad.axis = 5;
  const std::vector<QuantizeOptions> candidates{good, bad};
  EXPECT_THAT(Analyze(x.view(), candidates).status().message(),
              ::testing::HasSubstr("candidates[1]: options.axis = 5"));
}

TEST(AnalyzeTest, AScalarSkipsTheRowsThatNeedAnAxis) {
  const auto x = Float32Tensor({}, {0.7f});
  const auto rows = Analyze(x.view(), {});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 7u);
}

TEST(AutoTest, PicksTheFewestBitsThatMeetTheBudget) {
  const auto x = Weights(64, 256);
  const auto rows = Analyze(x.view(), {});
  ASSERT_TRUE(rows.ok());
  for (double target : {5.0, 15.0, 25.0, 35.0, 45.0}) {
    QuantizeOptions o;
    o.dtype = DType::kAuto;
    o.max_error.min_sqnr_db = target;
    const auto choice = ChooseAuto(x.view(), o);
    ASSERT_TRUE(choice.ok()) << choice.status();
    EXPECT_TRUE(choice->budget_met) << target;
    // The choice meets the budget, and nothing cheaper does.
    o = choice->options;
    const auto q = Quantize(x.view(), o);
    ASSERT_TRUE(q.ok());
    EXPECT_GE(q->result.error.sqnr_db, target);
    double chosen_bits = 0;
    for (const AnalyzeRow& row : *rows) {
      if (row.options.dtype == o.dtype && row.options.granularity == o.granularity &&
          row.options.group_size == o.group_size && row.options.scale_dtype == o.scale_dtype) {
        chosen_bits = row.bits_per_element;
      }
    }
    for (const AnalyzeRow& row : *rows) {
      if (row.bits_per_element < chosen_bits) {
        EXPECT_LT(row.error.sqnr_db, target);
      }
    }
  }
}

TEST(AutoTest, AnUnreachableBudgetReturnsTheBestRowAndSaysSo) {
  const auto x = Weights(8, 64);
  QuantizeOptions o;
  o.dtype = DType::kAuto;
  o.max_error.max_abs_error = 0;  // Only an exact format would do.
  o.max_error.min_sqnr_db = 1000;
  const auto choice = ChooseAuto(x.view(), o);
  ASSERT_TRUE(choice.ok());
  EXPECT_FALSE(choice->budget_met);
  EXPECT_EQ(choice->options.dtype, DType::kFloat16);  // The highest SQNR of the sweep.
  o.max_error = {};
  EXPECT_THAT(ChooseAuto(x.view(), o).status().message(), ::testing::HasSubstr("max_error"));
}

}  // namespace
}  // namespace quantd
