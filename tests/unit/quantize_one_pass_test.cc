// Quantize without explicit parameters where every slot lies whole inside
// one pool block (channels along the first axis, whole groups along the
// last, MINMAX or ABSMAX): quantd observes, chooses and quantizes block by
// block in one pass. Its answer must be the one the parameters it returns
// give when passed back explicitly (the two-pass path's quantizing step):
// the same bytes, x' and error statistics, bit for bit.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "quantd/kernel_pool.h"
#include "quantd/quantize.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using ::testing::HasSubstr;

struct OnePassCase {
  std::string name;
  std::vector<int64_t> shape;
  QuantizeOptions options;
};

QuantizeOptions Options(DType dtype, Scheme scheme, Granularity granularity, int32_t axis,
                        int32_t group_size = 0) {
  QuantizeOptions o;
  o.dtype = dtype;
  o.scheme = scheme;
  o.granularity = granularity;
  o.axis = axis;
  o.group_size = group_size;
  o.return_dequantized = true;
  return o;
}

std::vector<OnePassCase> Cases() {
  return {
      {"int8 asymmetric per channel, rows of 1024",
       {96, 1024},
       Options(DType::kInt8, Scheme::kAsymmetric, Granularity::kPerChannel, 0)},
      {"uint8 per channel, rows of 4096 over 3 dims",
       {40, 2, 2048},
       Options(DType::kUInt8, Scheme::kAsymmetric, Granularity::kPerChannel, 0)},
      {"int4 symmetric groups of 128",
       {48, 4096},
       Options(DType::kInt4, Scheme::kSymmetric, Granularity::kPerGroup, 1, 128)},
      {"uint4 asymmetric groups of 32",
       {300, 256},
       Options(DType::kUInt4, Scheme::kAsymmetric, Granularity::kPerGroup, 1, 32)},
      {"nf4 groups of 64", {70, 1024}, Options(DType::kNF4, Scheme::kSymmetric, Granularity::kPerGroup, 1, 64)},
      {"fp8 e4m3 per channel absmax",
       {64, 2048},
       Options(DType::kFloat8E4M3FN, Scheme::kSymmetric, Granularity::kPerChannel, 0)},
  };
}

// Smooth rows whose scale changes from row to row, some all zero, a few
// spikes: every slot gets a range of its own.
testing::OwnedTensor Data(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = i / shape.back();
    values[i] = row % 11 == 5 ? 0.0f : std::sin(i * 0.013f) * (1.0f + row % 7) + (i % 997 == 0 ? 40.0f : 0.0f);
  }
  return testing::Float32Tensor(shape, values);
}

void ExpectSameStats(const ErrorStats& a, const ErrorStats& b) {
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.mse, b.mse);
  EXPECT_EQ(a.sum_abs_error, b.sum_abs_error);
  EXPECT_EQ(a.max_abs_error, b.max_abs_error);
  EXPECT_EQ(a.sqnr_db, b.sqnr_db);
  EXPECT_EQ(a.cosine_similarity, b.cosine_similarity);
  EXPECT_EQ(a.clipped_count, b.clipped_count);
}

TEST(QuantizeOnePassTest, AnswersAsItsOwnParametersGivenExplicitly) {
  KernelPool pool(2, 64);
  ExecutionContext context;
  context.pool = &pool;
  for (const OnePassCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    const testing::OwnedTensor x = Data(c.shape);
    const auto chosen = Quantize(x.view(), c.options, context);
    ASSERT_TRUE(chosen.ok()) << chosen.status();
    QuantizeOptions explicit_options;
    explicit_options.params = chosen->result.params;
    explicit_options.return_dequantized = true;
    const auto given = Quantize(x.view(), explicit_options, context);
    ASSERT_TRUE(given.ok()) << given.status();
    EXPECT_EQ(chosen->data, given->data);
    EXPECT_EQ(chosen->dequantized, given->dequantized);
    ExpectSameStats(chosen->result.error, given->result.error);
  }
}

// Each slot's parameters come from that slot alone: a slot's scale is its
// own absolute maximum over 127 (INT8 symmetric per channel).
TEST(QuantizeOnePassTest, EachRowGetsItsOwnScale) {
  const testing::OwnedTensor x = Data({96, 1024});
  const auto q = Quantize(x.view(), Options(DType::kInt8, Scheme::kSymmetric, Granularity::kPerChannel, 0));
  ASSERT_TRUE(q.ok()) << q.status();
  const auto* values = reinterpret_cast<const float*>(x.bytes.data());
  for (int64_t row = 0; row < 96; ++row) {
    float amax = 0;
    for (int64_t i = 0; i < 1024; ++i) amax = std::max(amax, std::fabs(values[row * 1024 + i]));
    if (amax == 0) {
      EXPECT_EQ(q->result.params.scales[row], 1.0f) << row;
    } else {
      EXPECT_FLOAT_EQ(q->result.params.scales[row], amax / 127) << row;
    }
  }
}

// Non-finite values in several blocks: the error names the first of them,
// whichever block the pool finished first.
TEST(QuantizeOnePassTest, NamesTheFirstNonFiniteElement) {
  testing::OwnedTensor x = Data({256, 1024});
  auto* values = reinterpret_cast<float*>(x.bytes.data());
  values[200 * 1024 + 3] = std::numeric_limits<float>::quiet_NaN();
  values[70 * 1024 + 9] = std::numeric_limits<float>::infinity();
  KernelPool pool(2, 64);
  ExecutionContext context;
  context.pool = &pool;
  const auto q = Quantize(x.view(), Options(DType::kInt8, Scheme::kSymmetric, Granularity::kPerChannel, 0), context);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(q.status().message(), HasSubstr("input.data[71689] = inf"));
}

}  // namespace
}  // namespace quantd
