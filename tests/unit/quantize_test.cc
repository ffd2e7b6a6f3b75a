// Quantize on hand-computed cases: every scheme, granularity, rounding mode
// and input dtype of INT8/UINT8, the edge cases, and every rejection.
#include "quantd/quantize.h"

#include <cfloat>
#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "formats/float16.h"
#include "quantd/dequantize.h"
#include "quantd/kernel_pool.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using ::quantd::testing::As;
using ::quantd::testing::Float32Tensor;
using ::quantd::testing::MakeTensor;
using ::quantd::testing::OwnedTensor;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

QuantizeOptions Int8Options() {
  QuantizeOptions options;
  options.dtype = DType::kInt8;
  return options;
}

// amax = 127 gives scale 1 exactly, so the rounding mode alone decides.
const std::vector<float> kTies{-127.0f, -1.5f, -0.5f, 0.5f, 2.5f, 127.0f};

TEST(QuantizeTest, SymmetricInt8HalfToEvenByDefault) {
  const OwnedTensor x = Float32Tensor({6}, kTies);
  const auto q = Quantize(x.view(), Int8Options());
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_THAT(As<int8_t>(q->data), ElementsAre(-127, -2, 0, 0, 2, 127));
  EXPECT_EQ(q->result.params.dtype, DType::kInt8);
  EXPECT_EQ(q->result.params.scheme, Scheme::kSymmetric);
  EXPECT_EQ(q->result.params.granularity, Granularity::kPerTensor);
  EXPECT_EQ(q->result.params.scale_dtype, DType::kFloat32);
  EXPECT_THAT(q->result.params.scales, ElementsAre(1.0f));
  EXPECT_TRUE(q->result.params.zero_points.empty());
}

TEST(QuantizeTest, HalfAwayFromZeroAndFloor) {
  const OwnedTensor x = Float32Tensor({6}, kTies);
  QuantizeOptions options = Int8Options();
  options.rounding = Rounding::kHalfAwayFromZero;
  EXPECT_THAT(As<int8_t>(Quantize(x.view(), options)->data), ElementsAre(-127, -2, -1, 1, 3, 127));
  options.rounding = Rounding::kFloor;
  EXPECT_THAT(As<int8_t>(Quantize(x.view(), options)->data), ElementsAre(-127, -2, -1, 0, 2, 127));
}

TEST(QuantizeTest, ErrorStatsOfHalfToEven) {
  const OwnedTensor x = Float32Tensor({6}, kTies);
  const ErrorStats e = Quantize(x.view(), Int8Options())->result.error;
  // Errors: 0, 0.5, -0.5, 0.5, 0.5, 0.
  EXPECT_EQ(e.count, 6);
  EXPECT_DOUBLE_EQ(e.sum_abs_error, 2.0);
  EXPECT_DOUBLE_EQ(e.max_abs_error, 0.5);
  EXPECT_DOUBLE_EQ(e.mse, 1.0 / 6);
  double sum_x2 = 0;
  for (float v : kTies) sum_x2 += double{v} * v;
  EXPECT_DOUBLE_EQ(e.sqnr_db, 10 * std::log10(sum_x2 / 1.0));
  EXPECT_EQ(e.clipped_count, 0);
}

TEST(QuantizeTest, FullRangeSymmetric) {
  // amax 127.5 over 127.5 levels: scale 1; 127.5 rounds to 128 and clips.
  const OwnedTensor x = Float32Tensor({3}, {-127.5f, 0.0f, 127.5f});
  QuantizeOptions options = Int8Options();
  options.full_range = true;
  const auto q = Quantize(x.view(), options);
  EXPECT_THAT(q->result.params.scales, ElementsAre(1.0f));
  EXPECT_THAT(As<int8_t>(q->data), ElementsAre(-128, 0, 127));
  EXPECT_EQ(q->result.error.clipped_count, 1);
}

TEST(QuantizeTest, AsymmetricUint8IsTheDefaultForUint8) {
  const OwnedTensor x = Float32Tensor({4}, {-10.0f, 0.0f, 100.4f, 245.0f});
  QuantizeOptions options;
  options.dtype = DType::kUInt8;
  const auto q = Quantize(x.view(), options);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->result.params.scheme, Scheme::kAsymmetric);
  EXPECT_THAT(q->result.params.scales, ElementsAre(1.0f));
  EXPECT_THAT(q->result.params.zero_points, ElementsAre(10));
  EXPECT_THAT(As<uint8_t>(q->data), ElementsAre(0, 10, 110, 255));
}

TEST(QuantizeTest, AsymmetricInt8) {
  const OwnedTensor x = Float32Tensor({3}, {-1.0f, 0.0f, 3.0f});
  QuantizeOptions options = Int8Options();
  options.scheme = Scheme::kAsymmetric;
  const auto q = Quantize(x.view(), options);
  EXPECT_THAT(q->result.params.zero_points, ElementsAre(-64));
  const std::vector<int8_t> data = As<int8_t>(q->data);
  EXPECT_EQ(data[0], -128);
  EXPECT_EQ(data[1], -64);  // Zero is exact: it lands on the zero point.
  EXPECT_EQ(data[2], 127);
}

TEST(QuantizeTest, SymmetricUint8KeepsZeroAtZeroAndClipsNegatives) {
  const OwnedTensor x = Float32Tensor({3}, {-3.0f, 0.0f, 255.0f});
  QuantizeOptions options;
  options.dtype = DType::kUInt8;
  options.scheme = Scheme::kSymmetric;
  const auto q = Quantize(x.view(), options);
  EXPECT_THAT(q->result.params.scales, ElementsAre(1.0f));
  EXPECT_THAT(As<uint8_t>(q->data), ElementsAre(0, 0, 255));
  EXPECT_EQ(q->result.error.clipped_count, 1);
}

TEST(QuantizeTest, PerChannelOnEveryAxisIncludingNegative) {
  // shape [2, 3]: rows scaled by 1 and 2 along axis 0; columns along axis 1.
  const OwnedTensor x = Float32Tensor({2, 3}, {127, -63.5, 10, 254, 2, -4});
  QuantizeOptions options = Int8Options();
  options.granularity = Granularity::kPerChannel;
  options.axis = 0;
  auto q = Quantize(x.view(), options);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_THAT(q->result.params.scales, ElementsAre(1.0f, 2.0f));
  EXPECT_THAT(As<int8_t>(q->data), ElementsAre(127, -64, 10, 127, 1, -2));

  options.axis = -1;  // The columns: amax 254, 63.5, 10.
  q = Quantize(x.view(), options);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->result.params.axis, 1);
  EXPECT_THAT(q->result.params.scales,
              ElementsAre(254.0f / 127.0f, 63.5f / 127.0f, 10.0f / 127.0f));
}

TEST(QuantizeTest, PerChannelMiddleAxisOf3D) {
  std::vector<float> values(2 * 3 * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    const int channel = static_cast<int>((i / 2) % 3);
    values[i] = static_cast<float>((channel + 1) * 127) * (i % 2 ? -1.0f : 1.0f);
  }
  const OwnedTensor x = Float32Tensor({2, 3, 2}, values);
  QuantizeOptions options = Int8Options();
  options.granularity = Granularity::kPerChannel;
  options.axis = 1;
  const auto q = Quantize(x.view(), options);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_THAT(q->result.params.scales, ElementsAre(1.0f, 2.0f, 3.0f));
  for (int8_t v : As<int8_t>(q->data)) EXPECT_EQ(std::abs(v), 127);
  EXPECT_EQ(q->result.error.sum_abs_error, 0);
}

TEST(QuantizeTest, ClipRangeOverridesTheDataAndCountsClipping) {
  const OwnedTensor x = Float32Tensor({4}, {-300, -1, 1, 300});
  QuantizeOptions options = Int8Options();
  options.clip_min = -127;
  options.clip_max = 127;
  const auto q = Quantize(x.view(), options);
  EXPECT_THAT(q->result.params.scales, ElementsAre(1.0f));
  EXPECT_THAT(As<int8_t>(q->data), ElementsAre(-127, -1, 1, 127));
  EXPECT_EQ(q->result.error.clipped_count, 2);
  EXPECT_DOUBLE_EQ(q->result.error.max_abs_error, 173);
}

TEST(QuantizeTest, AbsMaxForAsymmetricIsCentred) {
  const OwnedTensor x = Float32Tensor({2}, {-1.0f, 127.5f});
  QuantizeOptions options;
  options.dtype = DType::kUInt8;
  options.range_method = RangeMethod::kAbsMax;
  const auto q = Quantize(x.view(), options);
  EXPECT_THAT(q->result.params.scales, ElementsAre(1.0f));
  EXPECT_THAT(q->result.params.zero_points, ElementsAre(128));  // 0 - round(-127.5) = 128.
}

TEST(QuantizeTest, ExplicitParamsAreUsedAsGiven) {
  const OwnedTensor x = Float32Tensor({3}, {-1.0f, 0.26f, 1.0f});
  QuantizeOptions options;
  options.dtype = DType::kUInt8;  // Ignored: params win.
  QuantParams params;
  params.dtype = DType::kInt8;
  params.scheme = Scheme::kAsymmetric;
  params.scales = {0.5f};
  params.zero_points = {3};
  options.params = params;
  const auto q = Quantize(x.view(), options);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->result.params.dtype, DType::kInt8);
  EXPECT_THAT(q->result.params.scales, ElementsAre(0.5f));
  EXPECT_THAT(q->result.params.zero_points, ElementsAre(3));
  EXPECT_THAT(As<int8_t>(q->data), ElementsAre(1, 4, 5));
}

TEST(QuantizeTest, HalfBFloatAndDoubleInputs) {
  const std::vector<float> values{-127.0f, 2.5f, 64.0f};
  std::vector<uint16_t> half, bf16;
  for (float v : values) {
    half.push_back(FloatToHalfBits(v));
    bf16.push_back(FloatToBFloat16Bits(v));
  }
  const std::vector<double> f64{-127.0, 2.5, 64.0};
  for (const OwnedTensor& x : {MakeTensor(DType::kFloat16, {3}, half),
                               MakeTensor(DType::kBFloat16, {3}, bf16),
                               MakeTensor(DType::kFloat64, {3}, f64)}) {
    QuantizeOptions options = Int8Options();
    options.return_dequantized = true;
    const auto q = Quantize(x.view(), options);
    ASSERT_TRUE(q.ok()) << q.status();
    EXPECT_THAT(As<int8_t>(q->data), ElementsAre(-127, 2, 64)) << DTypeName(x.dtype);
    // x' comes back in the input's dtype.
    EXPECT_EQ(q->dequantized.size(), x.bytes.size());
  }
}

TEST(QuantizeTest, DequantizedMatchesDequantize) {
  std::vector<float> values;
  for (int i = 0; i < 50; ++i) values.push_back(std::sin(i * 0.7f) * 3.0f);
  const OwnedTensor x = Float32Tensor({50}, values);
  QuantizeOptions options = Int8Options();
  options.return_dequantized = true;
  const auto q = Quantize(x.view(), options);
  const std::vector<int64_t> shape{50};
  const auto y = Dequantize({DType::kInt8, shape, q->data}, q->result.params, DType::kFloat32);
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(*y, q->dequantized);
}

TEST(QuantizeTest, AllZerosRoundTripExactly) {
  for (DType dtype : {DType::kInt8, DType::kUInt8}) {
    for (Scheme scheme : {Scheme::kSymmetric, Scheme::kAsymmetric}) {
      const OwnedTensor x = Float32Tensor({2, 5}, std::vector<float>(10, 0.0f));
      QuantizeOptions options;
      options.dtype = dtype;
      options.scheme = scheme;
      options.granularity = Granularity::kPerChannel;
      const auto q = Quantize(x.view(), options);
      ASSERT_TRUE(q.ok()) << q.status();
      for (float s : q->result.params.scales) EXPECT_EQ(s, 1.0f);
      EXPECT_EQ(q->result.error.sum_abs_error, 0);
      EXPECT_EQ(q->result.error.sqnr_db, 0);  // x and the error both all zero.
    }
  }
}

TEST(QuantizeTest, ConstantTensorsRoundTripExactly) {
  for (float c : {1.0f, -2.5f, 3.7f, 0.1f, 42.0f, -1e-3f, 1e6f}) {
    for (DType dtype : {DType::kInt8, DType::kUInt8}) {
      const OwnedTensor x = Float32Tensor({7}, std::vector<float>(7, c));
      QuantizeOptions options;
      options.dtype = dtype;
      const auto q = Quantize(x.view(), options);
      ASSERT_TRUE(q.ok()) << q.status();
      const float scale = q->result.params.scales[0];
      EXPECT_TRUE(std::isfinite(scale) && scale > 0);
      EXPECT_EQ(q->result.error.max_abs_error, 0) << c << " " << DTypeName(dtype);
      EXPECT_EQ(q->result.error.sqnr_db, std::numeric_limits<double>::infinity());
    }
  }
}

TEST(QuantizeTest, EmptyTensorGivesEmptyOutput) {
  const OwnedTensor x = Float32Tensor({0, 4}, {});
  QuantizeOptions options = Int8Options();
  options.granularity = Granularity::kPerChannel;
  options.axis = 1;
  const auto q = Quantize(x.view(), options);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_TRUE(q->data.empty());
  EXPECT_THAT(q->result.params.scales, ElementsAreArray(std::vector<float>(4, 1.0f)));
  EXPECT_EQ(q->result.error.count, 0);
  EXPECT_EQ(q->result.error.sqnr_db, std::numeric_limits<double>::infinity());
  EXPECT_EQ(q->result.error.cosine_similarity, 1);
}

TEST(QuantizeTest, ScalarTensor) {
  const OwnedTensor x = Float32Tensor({}, {-5.0f});
  const auto q = Quantize(x.view(), Int8Options());
  ASSERT_TRUE(q.ok());
  EXPECT_THAT(As<int8_t>(q->data), ElementsAre(-127));
}

// Rejections: each names the field and the numbers.

absl::Status QuantizeStatus(const OwnedTensor& x, const QuantizeOptions& options) {
  return Quantize(x.view(), options).status();
}

TEST(QuantizeErrorsTest, NanAndInfAreNamedByIndex) {
  for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    const OwnedTensor x = Float32Tensor({3}, {1.0f, bad, 2.0f});
    const absl::Status s = QuantizeStatus(x, Int8Options());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("input.data[1]"));
  }
}

TEST(QuantizeErrorsTest, NanIsRejectedEvenWithExplicitParams) {
  const OwnedTensor x = Float32Tensor({2}, {1.0f, std::nanf("")});
  QuantizeOptions options;
  options.params = QuantParams{.dtype = DType::kInt8, .scales = {1.0f}};
  EXPECT_EQ(QuantizeStatus(x, options).code(), absl::StatusCode::kInvalidArgument);
}

TEST(QuantizeErrorsTest, DoubleBeyondFloatRange) {
  const OwnedTensor x = MakeTensor(DType::kFloat64, {2}, std::vector<double>{1.0, 1e300});
  EXPECT_THAT(QuantizeStatus(x, Int8Options()).message(), HasSubstr("input.data[1] = 1e+300"));
}

TEST(QuantizeErrorsTest, TargetAndOptionRejections) {
  const OwnedTensor x = Float32Tensor({2, 3}, std::vector<float>(6, 1.0f));
  struct Case {
    QuantizeOptions options;
    absl::StatusCode code;
    const char* message;
  };
  auto with = [](auto mutate) {
    QuantizeOptions o = Int8Options();
    mutate(o);
    return o;
  };
  const std::vector<Case> cases = {
      {QuantizeOptions{}, absl::StatusCode::kInvalidArgument, "options.dtype is DTYPE_UNSPECIFIED"},
      {with([](auto& o) { o.dtype = static_cast<DType>(99); }),
       absl::StatusCode::kInvalidArgument, "options.dtype = 99"},
      {with([](auto& o) { o.dtype = DType::kFloat32; }), absl::StatusCode::kInvalidArgument,
       "not a quantized type"},
      {with([](auto& o) { o.dtype = DType::kE8M0; }), absl::StatusCode::kInvalidArgument,
       "dtype E8M0 is not a quantized type"},
      {with([](auto& o) { o.scheme = static_cast<Scheme>(7); }),
       absl::StatusCode::kInvalidArgument, "options.scheme = 7"},
      {with([](auto& o) { o.granularity = static_cast<Granularity>(-1); }),
       absl::StatusCode::kInvalidArgument, "options.granularity = -1"},
      {with([](auto& o) { o.rounding = static_cast<Rounding>(12); }),
       absl::StatusCode::kInvalidArgument, "options.rounding = 12"},
      {with([](auto& o) { o.range_method = static_cast<RangeMethod>(40); }),
       absl::StatusCode::kInvalidArgument, "options.range_method = 40"},
      {with([](auto& o) {
         o.granularity = Granularity::kPerChannel;
         o.axis = 2;
       }),
       absl::StatusCode::kInvalidArgument, "options.axis = 2 is out of range for a tensor of rank 2"},
      {with([](auto& o) {
         o.granularity = Granularity::kPerChannel;
         o.axis = -3;
       }),
       absl::StatusCode::kInvalidArgument, "options.axis = -3"},
      {with([](auto& o) {
         o.granularity = Granularity::kPerGroup;
         o.group_size = 0;
       }),
       absl::StatusCode::kInvalidArgument, "options.group_size = 0 must be positive"},
      {with([](auto& o) {
         o.granularity = Granularity::kPerGroup;
         o.group_size = -4;
       }),
       absl::StatusCode::kInvalidArgument, "group_size = -4"},
      {with([](auto& o) {
         o.dtype = DType::kFloat8E4M3FN;
         o.scheme = Scheme::kAsymmetric;
       }),
       absl::StatusCode::kInvalidArgument, "FLOAT8_E4M3FN, which is symmetric only"},
      {with([](auto& o) {
         o.scheme = Scheme::kAsymmetric;
         o.scale_dtype = DType::kE8M0;
       }),
       absl::StatusCode::kInvalidArgument, "scheme ASYMMETRIC cannot use it"},
      {with([](auto& o) { o.dtype = DType::kAuto; }), absl::StatusCode::kInvalidArgument,
       "dtype AUTO chooses a format"},
      {with([](auto& o) { o.range_method = RangeMethod::kKMeans; }),
       absl::StatusCode::kInvalidArgument, "KMEANS builds codebooks"},
      {with([](auto& o) {
         o.dtype = DType::kLut4;
         o.range_method = RangeMethod::kAbsMax;
       }),
       absl::StatusCode::kInvalidArgument, "cannot build a codebook for LUT4"},
      {with([](auto& o) {
         o.dtype = DType::kLut8;
         o.clip_max = 1;
       }),
       absl::StatusCode::kInvalidArgument, "do not apply to LUT8"},
      {with([](auto& o) {
         o.dtype = DType::kNF4;
         o.rounding = Rounding::kStochastic;
       }),
       absl::StatusCode::kInvalidArgument, "rounding STOCHASTIC does not apply to NF4"},
      {with([](auto& o) { o.range_method = RangeMethod::kMovingAverageMinMax; }),
       absl::StatusCode::kInvalidArgument, "Calibrate"},
      {with([](auto& o) { o.scale_dtype = DType::kInt8; }), absl::StatusCode::kInvalidArgument,
       "scale_dtype INT8"},
      {with([](auto& o) { o.clip_min = std::numeric_limits<float>::infinity(); }),
       absl::StatusCode::kInvalidArgument, "options.clip_min = inf is not finite"},
      {with([](auto& o) {
         o.clip_min = 2;
         o.clip_max = 1;
       }),
       absl::StatusCode::kInvalidArgument, "options.clip_min = 2 is above options.clip_max = 1"},
      {with([](auto& o) { o.percentile = 101; }), absl::StatusCode::kInvalidArgument,
       "options.percentile = 101"},
  };
  for (const Case& c : cases) {
    const absl::Status s = QuantizeStatus(x, c.options);
    EXPECT_EQ(s.code(), c.code) << s;
    EXPECT_THAT(s.message(), HasSubstr(c.message));
  }
}

TEST(QuantizeErrorsTest, InputMustBeAFloatTensor) {
  const OwnedTensor x = MakeTensor(DType::kInt8, {2}, std::vector<int8_t>{1, 2});
  EXPECT_THAT(QuantizeStatus(x, Int8Options()).message(), HasSubstr("input.dtype INT8"));
}

TEST(QuantizeErrorsTest, ExplicitParamRejections) {
  const OwnedTensor x = Float32Tensor({2, 3}, std::vector<float>(6, 1.0f));
  auto with = [](auto mutate) {
    QuantParams p{.dtype = DType::kInt8, .scales = {1.0f}};
    mutate(p);
    QuantizeOptions o;
    o.params = p;
    return o;
  };
  const std::vector<std::pair<QuantizeOptions, const char*>> cases = {
      {with([](auto& p) { p.scales = {}; }), "options.params.scales has 0 values, but PER_TENSOR needs 1"},
      {with([](auto& p) {
         p.granularity = Granularity::kPerChannel;
         p.axis = 1;
         p.scales = {1, 1};
       }),
       "options.params.scales has 2 values, but PER_CHANNEL needs 3 (shape[1])"},
      {with([](auto& p) { p.scales = {0.0f}; }), "options.params.scales[0] = 0"},
      {with([](auto& p) { p.scales = {-1.0f}; }), "options.params.scales[0] = -1"},
      {with([](auto& p) { p.scales = {std::nanf("")}; }), "options.params.scales[0] = nan"},
      {with([](auto& p) { p.scales = {std::numeric_limits<float>::infinity()}; }),
       "options.params.scales[0] = inf"},
      {with([](auto& p) { p.scales = {1e-40f}; }), "at least FLT_MIN"},
      {with([](auto& p) { p.zero_points = {0}; }), "SYMMETRIC takes none"},
      {with([](auto& p) { p.scheme = Scheme::kAsymmetric; }),
       "options.params.zero_points has 0 values, but ASYMMETRIC needs one per scale (1)"},
      {with([](auto& p) {
         p.scheme = Scheme::kAsymmetric;
         p.zero_points = {128};
       }),
       "options.params.zero_points[0] = 128 is outside INT8's range [-128, 127]"},
      {with([](auto& p) {
         p.dtype = DType::kUInt8;
         p.zero_points = {-1};
       }),
       "options.params.zero_points[0] = -1 is outside UINT8's range [0, 255]"},
      {with([](auto& p) { p.codebook = {1, 2}; }), "codebook"},
  };
  for (const auto& [options, message] : cases) {
    const absl::Status s = QuantizeStatus(x, options);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr(message));
  }
}

}  // namespace
}  // namespace quantd

namespace quantd {
namespace {

// Many blocks, per channel on the last axis, on a pool of 3 threads: the
// bytes, parameters and error statistics equal the single-threaded run's.
TEST(QuantizeParallelTest, PoolGivesTheSameResultAsOneThread) {
  std::vector<float> values(1000 * 333);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(i * 0.001f) * (1 + i % 333);
  const testing::OwnedTensor x = testing::Float32Tensor({1000, 333}, values);
  QuantizeOptions options;
  options.dtype = DType::kUInt8;
  options.granularity = Granularity::kPerChannel;
  options.axis = 1;
  options.return_dequantized = true;
  const auto alone = Quantize(x.view(), options);
  KernelPool pool(3, 10);
  ExecutionContext context;
  context.pool = &pool;
  const auto pooled = Quantize(x.view(), options, context);
  ASSERT_TRUE(alone.ok() && pooled.ok());
  EXPECT_EQ(alone->data, pooled->data);
  EXPECT_EQ(alone->dequantized, pooled->dequantized);
  EXPECT_EQ(alone->result.params, pooled->result.params);
  EXPECT_EQ(alone->result.error.mse, pooled->result.error.mse);
  EXPECT_EQ(alone->result.error.sqnr_db, pooled->result.error.sqnr_db);
}

TEST(QuantizeParallelTest, EveryIsaGivesTheSameBytes) {
  std::vector<float> values(70001);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::cos(i * 0.37f) * 5 + (i % 7) * 0.5f;
  const testing::OwnedTensor x = testing::Float32Tensor({70001}, values);
  QuantizeOptions options;
  options.dtype = DType::kInt8;
  options.return_dequantized = true;
  ExecutionContext scalar;
  scalar.max_isa = Isa::kScalar;
  const auto expected = Quantize(x.view(), options, scalar);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    ExecutionContext context;
    context.max_isa = isa;
    const auto got = Quantize(x.view(), options, context);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->data, expected->data) << IsaName(isa);
    EXPECT_EQ(got->dequantized, expected->dequantized) << IsaName(isa);
    // The SIMD kernels sum the error in float32 before double (2e-6).
    EXPECT_NEAR(got->result.error.mse, expected->result.error.mse, 2e-6 * expected->result.error.mse);
  }
}

TEST(QuantizeParallelTest, CancelledRunStops) {
  const testing::OwnedTensor x = testing::Float32Tensor({1 << 20}, std::vector<float>(1 << 20, 1.0f));
  QuantizeOptions options;
  options.dtype = DType::kInt8;
  ExecutionContext context;
  context.cancelled = [] { return true; };
  EXPECT_EQ(Quantize(x.view(), options, context).status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace quantd
