// Quantize's new granularities, scales, range methods and rounding against
// 64-bit oracles computed here from the data.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "quantd/kernel_pool.h"
#include "quantd/quantize.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using testing::As;
using testing::Float32Tensor;

std::vector<float> Gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(QuantizeFormatsTest, PerGroupScalesAreTheBlockAbsMaxInApiOrder) {
  // [3, 37, 2] in groups of 8 along axis 1: blocks of 8, 8, 8, 8 and 5.
  const std::vector<int64_t> shape{3, 37, 2};
  const std::vector<float> v = Gaussian(3 * 37 * 2, 1);
  const auto x = Float32Tensor(shape, v);
  QuantizeOptions o;
  o.dtype = DType::kInt4;
  o.granularity = Granularity::kPerGroup;
  o.axis = 1;
  o.group_size = 8;
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  const std::vector<float>& scales = q->result.params.scales;
  ASSERT_EQ(scales.size(), 3u * 5 * 2);  // Row-major [3, ceil(37/8), 2].
  for (int o3 = 0; o3 < 3; ++o3) {
    for (int b = 0; b < 5; ++b) {
      for (int i = 0; i < 2; ++i) {
        float amax = 0;
        for (int a = b * 8; a < std::min(37, b * 8 + 8); ++a) {
          amax = std::max(amax, std::fabs(v[(o3 * 37 + a) * 2 + i]));
        }
        EXPECT_EQ(scales[(o3 * 5 + b) * 2 + i], amax / 7.0f) << o3 << " " << b << " " << i;
      }
    }
  }
}

TEST(QuantizeFormatsTest, PerGroupAlongTheLastAxisWithAShortBlock) {
  const std::vector<float> v = Gaussian(4 * 70, 2);
  const auto x = Float32Tensor({4, 70}, v);
  QuantizeOptions o;
  o.dtype = DType::kUInt4;
  o.granularity = Granularity::kPerGroup;
  o.axis = -1;
  o.group_size = 32;  // 32, 32, 6.
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->result.params.scales.size(), 12u);
  ASSERT_EQ(q->result.params.zero_points.size(), 12u);
  for (int r = 0; r < 4; ++r) {
    for (int b = 0; b < 3; ++b) {
      const auto first = v.begin() + r * 70 + b * 32;
      const auto last = v.begin() + r * 70 + std::min(70, b * 32 + 32);
      const float lo = std::min(0.0f, *std::min_element(first, last));
      const float hi = std::max(0.0f, *std::max_element(first, last));
      EXPECT_EQ(q->result.params.scales[r * 3 + b], (hi - lo) / 15.0f);
    }
  }
  EXPECT_EQ(q->result.params.axis, 1);
}

TEST(QuantizeFormatsTest, MxFp8BlocksHavePowerOfTwoScales) {
  const std::vector<float> v = Gaussian(2 * 64, 3, 10.0f);
  const auto x = Float32Tensor({2, 64}, v);
  QuantizeOptions o;
  o.dtype = DType::kFloat8E4M3FN;
  o.granularity = Granularity::kPerGroup;
  o.axis = 1;
  o.group_size = 32;
  o.scale_dtype = DType::kE8M0;
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  for (int g = 0; g < 4; ++g) {
    float amax = 0;
    for (int k = 0; k < 32; ++k) amax = std::max(amax, std::fabs(v[g * 32 + k]));
    EXPECT_EQ(q->result.params.scales[g], std::ldexp(1.0f, std::ilogb(amax) - 8)) << g;
  }
  EXPECT_EQ(q->result.params.scale_dtype, DType::kE8M0);
}

TEST(QuantizeFormatsTest, AbsMeanIsTheMeanMagnitude) {
  const std::vector<float> v = Gaussian(100003, 4);
  const auto x = Float32Tensor({100003}, v);
  QuantizeOptions o;
  o.dtype = DType::kTernary;
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  double sum = 0;
  for (float f : v) sum += std::fabs(static_cast<double>(f));
  EXPECT_NEAR(q->result.params.scales[0], sum / v.size(), 1e-6 * sum / v.size());
  // BitNet b1.58: q = clamp(round(x / mean|x|), -1, 1).
  const std::vector<uint8_t> bytes = As<uint8_t>(q->data);
  const float scale = q->result.params.scales[0];
  for (size_t i = 0; i < 1000; ++i) {
    const int code = (bytes[i / 4] >> (2 * (i % 4))) & 3;
    const int level = code == 3 ? -1 : code;
    EXPECT_EQ(level, std::clamp(static_cast<int>(std::nearbyint(v[i] * (1.0f / scale))), -1, 1)) << i;
  }
}

TEST(QuantizeFormatsTest, ThresholdTernaryZeroesValuesBelowHalfTheMaximum) {
  const auto x = Float32Tensor({6}, {4.0f, 1.9f, -2.1f, 0.5f, -4.0f, 2.0f});
  QuantizeOptions o;
  o.dtype = DType::kTernary;
  o.range_method = RangeMethod::kAbsMax;
  o.return_dequantized = true;
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(As<float>(q->dequantized), (std::vector<float>{4, 0, -4, 0, -4, 0}));  // 2.0 ties to 0.
}

TEST(QuantizeFormatsTest, BinaryIsTheSignTimesTheMeanMagnitude) {
  const auto x = Float32Tensor({4}, {1.0f, -3.0f, 0.0f, 2.0f});
  QuantizeOptions o;
  o.dtype = DType::kBinary;
  o.return_dequantized = true;
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->result.params.scales, std::vector<float>{1.5f});
  EXPECT_EQ(As<float>(q->dequantized), (std::vector<float>{1.5f, -1.5f, 1.5f, 1.5f}));
}

TEST(QuantizeFormatsTest, PercentileIsWithinABinOfTheExactPercentile) {
  std::vector<float> v = Gaussian(200000, 5);
  v[17] = 80.0f;  // An outlier the percentile should ignore.
  const auto x = Float32Tensor({200000}, v);
  QuantizeOptions o;
  o.dtype = DType::kInt8;
  o.range_method = RangeMethod::kPercentile;
  o.percentile = 99.9;
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  std::vector<double> mags(v.begin(), v.end());
  for (double& m : mags) m = std::fabs(m);
  std::sort(mags.begin(), mags.end());
  const double exact = mags[static_cast<size_t>(0.999 * (mags.size() - 1))];
  const double bin = 80.0 / 2048;
  EXPECT_NEAR(q->result.params.scales[0] * 127.0, exact, bin + 1e-4);
}

TEST(QuantizeFormatsTest, MseAndEntropyClipHeavyTailsAndLowerTheError) {
  // Laplace data: both searches must clip the tail and beat ABSMAX on MSE.
  std::mt19937 rng(6);
  std::exponential_distribution<float> e(1.0f);
  std::vector<float> v(100000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = (i % 2 ? 1.0f : -1.0f) * e(rng);
  const auto x = Float32Tensor({static_cast<int64_t>(v.size())}, v);
  auto mse_of = [&](RangeMethod method, DType dtype) {
    QuantizeOptions o;
    o.dtype = dtype;
    o.range_method = method;
    const auto q = Quantize(x.view(), o);
    EXPECT_TRUE(q.ok()) << q.status();
    return q.ok() ? q->result.error.mse : 0.0;
  };
  for (DType dtype : {DType::kInt4, DType::kInt8}) {
    const double absmax = mse_of(RangeMethod::kAbsMax, dtype);
    EXPECT_LT(mse_of(RangeMethod::kMse, dtype), absmax) << DTypeName(dtype);
    EXPECT_LT(mse_of(RangeMethod::kEntropy, dtype), absmax * 1.5) << DTypeName(dtype);
  }
  EXPECT_LT(mse_of(RangeMethod::kMse, DType::kInt4), 0.8 * mse_of(RangeMethod::kAbsMax, DType::kInt4));
}

TEST(QuantizeFormatsTest, KMeansCodebookBeatsUniformInt4) {
  std::vector<float> v = Gaussian(50000, 7);
  const auto x = Float32Tensor({50000}, v);
  QuantizeOptions lut;
  lut.dtype = DType::kLut4;
  const auto q = Quantize(x.view(), lut);
  ASSERT_TRUE(q.ok()) << q.status();
  const std::vector<float>& book = q->result.params.codebook;
  ASSERT_EQ(book.size(), 16u);
  EXPECT_TRUE(std::is_sorted(book.begin(), book.end()));
  QuantizeOptions int4;
  int4.dtype = DType::kInt4;
  int4.range_method = RangeMethod::kMse;
  EXPECT_GT(q->result.error.sqnr_db, Quantize(x.view(), int4)->result.error.sqnr_db);
  QuantizeOptions log2 = lut;
  log2.range_method = RangeMethod::kLog2;
  const auto l = Quantize(x.view(), log2);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->result.params.codebook.front(), -1.0f);
  EXPECT_EQ(l->result.params.codebook[7], 0.0f);
  EXPECT_EQ(l->result.params.codebook[8], 0x1p-7f);
  EXPECT_EQ(l->result.params.codebook.back(), 1.0f);
}

TEST(QuantizeFormatsTest, StochasticRoundingIsUnbiasedAndReproducible) {
  const int64_t n = 200000;
  const auto x = Float32Tensor({n}, std::vector<float>(n, 0.3f));
  QuantizeOptions o;
  o.params = QuantParams{.dtype = DType::kInt8, .scales = {1.0f}};
  o.rounding = Rounding::kStochastic;
  o.seed = 42;
  o.return_dequantized = true;
  const auto a = Quantize(x.view(), o);
  ASSERT_TRUE(a.ok()) << a.status();
  const std::vector<float> y = As<float>(a->dequantized);
  const double mean = std::accumulate(y.begin(), y.end(), 0.0) / n;
  EXPECT_NEAR(mean, 0.3, 0.005);  // About 4 standard errors.
  // The same seed gives the same bytes, on any pool; another seed does not.
  KernelPool pool(2, 64);
  ExecutionContext parallel;
  parallel.pool = &pool;
  const auto b = Quantize(x.view(), o, parallel);
  EXPECT_EQ(a->data, b->data);
  o.seed = 43;
  EXPECT_NE(a->data, Quantize(x.view(), o)->data);
  // Seed 0 is a seed like any other.
  o.seed = 0;
  const auto z = Quantize(x.view(), o);
  EXPECT_NEAR(std::accumulate(z->data.begin(), z->data.end(), 0.0,
                              [](double s, std::byte c) { return s + static_cast<int8_t>(c); }) / n,
              0.3, 0.005);
}

TEST(QuantizeFormatsTest, StochasticRoundingOfFp8IsUnbiased) {
  // 1.1 lies between E5M2's 1.0 and 1.25: mean of the rounded values -> 1.1.
  const int64_t n = 100000;
  const auto x = Float32Tensor({n}, std::vector<float>(n, 1.1f));
  QuantizeOptions o;
  o.params = QuantParams{.dtype = DType::kFloat8E5M2, .scales = {1.0f}};
  o.rounding = Rounding::kStochastic;
  o.seed = 7;
  o.return_dequantized = true;
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  const std::vector<float> y = As<float>(q->dequantized);
  for (float f : y) ASSERT_TRUE(f == 1.0f || f == 1.25f) << f;
  EXPECT_NEAR(std::accumulate(y.begin(), y.end(), 0.0) / n, 1.1, 0.003);
}

TEST(QuantizeFormatsTest, Float16TargetIsAPlainCastUnlessARangeIsAsked) {
  const auto x = Float32Tensor({3}, {1.0f, 0.1f, 70000.0f});
  QuantizeOptions o;
  o.dtype = DType::kFloat16;
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->result.params.scales, std::vector<float>{1.0f});
  EXPECT_EQ(As<uint16_t>(q->data), (std::vector<uint16_t>{0x3c00, 0x2e66, 0x7bff}));
  EXPECT_EQ(q->result.error.clipped_count, 1);  // 70000 saturates at 65504.
  o.range_method = RangeMethod::kAbsMax;
  EXPECT_EQ(Quantize(x.view(), o)->result.params.scales, std::vector<float>{70000.0f / 65504.0f});
}

TEST(QuantizeFormatsTest, ExplicitScalesMustFitTheirScaleDType) {
  const auto x = Float32Tensor({2}, {1.0f, 2.0f});
  QuantizeOptions o;
  o.params = QuantParams{.dtype = DType::kInt8, .scales = {0.1f}, .scale_dtype = DType::kFloat16};
  EXPECT_THAT(Quantize(x.view(), o).status().message(),
              ::testing::HasSubstr("scales[0] = 0.1 is not a FLOAT16 value"));
  o.params->scale_dtype = DType::kE8M0;
  o.params->scales = {0.75f};
  EXPECT_THAT(Quantize(x.view(), o).status().message(),
              ::testing::HasSubstr("is not a E8M0 value (a power of two"));
  o.params->scales = {0.5f};
  EXPECT_TRUE(Quantize(x.view(), o).ok());
}

TEST(QuantizeFormatsTest, AnEmptyTensorCannotClaimAHugeChannelAxis) {
  const testing::OwnedTensor x{DType::kFloat32, {0, int64_t{1} << 39}, {}};
  QuantizeOptions o;
  o.dtype = DType::kInt8;
  o.granularity = Granularity::kPerChannel;
  o.axis = 1;
  EXPECT_THAT(Quantize(x.view(), o).status().message(),
              ::testing::HasSubstr("in a tensor without elements"));
}

TEST(QuantizeFormatsTest, ExplicitCodebooksAreChecked) {
  const auto x = Float32Tensor({2}, {1.0f, 2.0f});
  QuantizeOptions o;
  std::vector<float> book(16);
  std::iota(book.begin(), book.end(), -8.0f);
  o.params = QuantParams{.dtype = DType::kLut4, .scales = {0.25f}, .codebook = book};
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  // 1 / 0.25 = 4 is level 12; 8 is beyond the last level 7 by more than
  // half a step: level 15, clipped.
  EXPECT_EQ(As<uint8_t>(q->data), (std::vector<uint8_t>{0xfc}));
  EXPECT_EQ(q->result.error.clipped_count, 1);
  std::swap(o.params->codebook[3], o.params->codebook[4]);
  EXPECT_THAT(Quantize(x.view(), o).status().message(),
              ::testing::HasSubstr("codebook[4] = -5 is below codebook[3] = -4"));
  o.params->codebook.pop_back();
  EXPECT_THAT(Quantize(x.view(), o).status().message(),
              ::testing::HasSubstr("codebook has 15 values, but LUT4 needs 16 per slot"));
}

}  // namespace
}  // namespace quantd
