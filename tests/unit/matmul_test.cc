// QuantizedMatMul against 64-bit oracles computed here: integer sums in
// int64, scales chosen as powers of two so that the expected floats are
// exact, and every kernel level giving the same bytes.
#include <cmath>
#include <random>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "formats/packing.h"
#include "quantd/dequantize.h"
#include "quantd/kernel_pool.h"
#include "quantd/matmul.h"
#include "quantd/quantize.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using testing::As;
using testing::Float32Tensor;
using testing::MakeTensor;
using testing::OwnedTensor;
using ::testing::HasSubstr;

constexpr Isa kLevels[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni};

std::vector<int32_t> RandomInts(size_t n, int lo, int hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int32_t> v(n);
  for (int32_t& x : v) x = d(rng);
  return v;
}

std::vector<float> Gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Codes of a `bits`-wide integer type, packed as API.md says.
OwnedTensor Codes(DType dtype, std::vector<int64_t> shape, const std::vector<int32_t>& values) {
  const int bits = DTypeBits(dtype);
  OwnedTensor t{dtype, std::move(shape), std::vector<std::byte>(PackedByteSize(dtype, values.size()))};
  for (size_t i = 0; i < values.size(); ++i) {
    StoreCode(bits, t.bytes.data(), i, static_cast<uint32_t>(values[i]) & ((1u << bits) - 1));
  }
  return t;
}

QuantParams Params(DType dtype, Granularity granularity, int32_t axis, std::vector<float> scales,
                   std::vector<int32_t> zero_points = {}, int32_t group_size = 0) {
  QuantParams p;
  p.dtype = dtype;
  p.scheme = zero_points.empty() ? Scheme::kSymmetric : Scheme::kAsymmetric;
  p.granularity = granularity;
  p.axis = axis;
  p.group_size = group_size;
  p.scales = std::move(scales);
  p.zero_points = std::move(zero_points);
  p.full_range = true;
  return p;
}

std::vector<float> Multiply(const MatMulInputs& in, const MatMulOptions& options, Isa isa,
                       KernelPool* pool = nullptr, MatMulResult* result = nullptr) {
  ExecutionContext context;
  context.max_isa = isa;
  context.pool = pool;
  auto out = MatMul(in, options, context);
  EXPECT_TRUE(out.ok()) << out.status();
  if (!out.ok()) return {};
  if (result != nullptr) *result = out->result;
  return As<float>(out->data);
}

// Shapes around the kernels' blocking: panels of 16 columns, quads and
// octets of k, tiles of 32 rows, blocks of 128 columns.
struct Shape {
  int64_t m, k, n;
};
constexpr Shape kShapes[] = {{1, 1, 1},   {3, 17, 63}, {17, 64, 65}, {63, 3, 17},
                             {64, 65, 1}, {65, 63, 64}, {33, 130, 129}, {1, 1000, 3}};

TEST(MatMulTest, Int8SumsAreExactAtEveryLevelAndLayout) {
  for (const Shape& s : kShapes) {
    for (bool transpose : {false, true}) {
      const auto a_values = RandomInts(s.m * s.k, -128, 127, 1);
      const auto b_values = RandomInts(s.k * s.n, -128, 127, 2);
      const OwnedTensor a = Codes(DType::kInt8, {s.m, s.k}, a_values);
      const OwnedTensor b = Codes(DType::kInt8, transpose ? std::vector<int64_t>{s.n, s.k}
                                                          : std::vector<int64_t>{s.k, s.n},
                                  b_values);
      MatMulInputs in{a.view(), Params(DType::kInt8, Granularity::kPerTensor, 0, {1.0f}),
                      b.view(), Params(DType::kInt8, Granularity::kPerTensor, 0, {1.0f})};
      MatMulOptions options;
      options.transpose_b = transpose;
      std::vector<float> expected(s.m * s.n);
      for (int64_t m = 0; m < s.m; ++m) {
        for (int64_t n = 0; n < s.n; ++n) {
          int64_t sum = 0;
          for (int64_t k = 0; k < s.k; ++k) {
            sum += int64_t{a_values[m * s.k + k]} *
                   b_values[transpose ? n * s.k + k : k * s.n + n];
          }
          expected[m * s.n + n] = static_cast<float>(sum);
        }
      }
      for (Isa isa : kLevels) {
        EXPECT_EQ(Multiply(in, options, isa), expected)
            << "M,K,N " << s.m << "," << s.k << "," << s.n << " transpose " << transpose
            << " at " << IsaName(isa);
      }
    }
  }
}

TEST(MatMulTest, AsymmetricZeroPointsAreCorrectedExactly) {
  // UINT8 a with a zero point per row, UINT8 b with one per output channel:
  // Σ (a − za)(b − zb) by the correction terms, against the direct sum.
  const Shape s{7, 45, 33};
  const auto a_values = RandomInts(s.m * s.k, 0, 255, 3);
  const auto b_values = RandomInts(s.k * s.n, 0, 255, 4);
  const auto za = RandomInts(s.m, 0, 255, 5);
  const auto zb = RandomInts(s.n, 0, 255, 6);
  const OwnedTensor a = Codes(DType::kUInt8, {s.m, s.k}, a_values);
  const OwnedTensor b = Codes(DType::kUInt8, {s.k, s.n}, b_values);
  std::vector<float> a_scales(s.m), b_scales(s.n);
  for (int64_t m = 0; m < s.m; ++m) a_scales[m] = std::ldexp(1.0f, static_cast<int>(m % 5) - 2);
  for (int64_t n = 0; n < s.n; ++n) b_scales[n] = std::ldexp(1.0f, static_cast<int>(n % 3) - 1);
  MatMulInputs in{a.view(), Params(DType::kUInt8, Granularity::kPerChannel, 0, a_scales, za),
                  b.view(), Params(DType::kUInt8, Granularity::kPerChannel, 1, b_scales, zb)};
  std::vector<float> expected(s.m * s.n);
  for (int64_t m = 0; m < s.m; ++m) {
    for (int64_t n = 0; n < s.n; ++n) {
      int64_t sum = 0;
      for (int64_t k = 0; k < s.k; ++k) {
        sum += int64_t{a_values[m * s.k + k] - za[m]} * (b_values[k * s.n + n] - zb[n]);
      }
      expected[m * s.n + n] = static_cast<float>(sum * double{a_scales[m]} * b_scales[n]);
    }
  }
  for (Isa isa : kLevels) EXPECT_EQ(Multiply(in, {}, isa), expected) << IsaName(isa);
}

TEST(MatMulTest, FourBitWeightsPerGroupAlongK) {
  // INT4 and UINT4 weights with a scale (and for UINT4 a zero point) per
  // group of k, including a group length that is not a multiple of the
  // kernels' octet and a short last group.
  // Two rows take the direct path where the kernels have it, five the
  // packed one.
  for (DType dtype : {DType::kInt4, DType::kUInt4}) {
    for (int32_t group : {8, 3, 32, 50}) {
      for (bool transpose : {true, false}) {
        for (int64_t rows : {2, 5}) {
          const Shape s{rows, 100, 37};
          const bool is_signed = dtype == DType::kInt4;
          const auto a_values = RandomInts(s.m * s.k, -128, 127, 7);
          const auto b_values = RandomInts(s.k * s.n, is_signed ? -8 : 0, is_signed ? 7 : 15, 8);
          const int64_t groups = (s.k + group - 1) / group;
          std::vector<float> scales(groups * s.n);
          for (size_t i = 0; i < scales.size(); ++i) scales[i] = std::ldexp(1.0f, static_cast<int>(i % 7) - 3);
          const std::vector<int32_t> zeros =
              is_signed ? std::vector<int32_t>{} : RandomInts(groups * s.n, 0, 15, 9);
          // The parameters in API.md's order: [N, groups] for b [N, K]
          // grouped on axis 1, [groups, N] for b [K, N] grouped on axis 0.
          auto slot = [&](int64_t g, int64_t n) { return transpose ? n * groups + g : g * s.n + n; };
          const OwnedTensor a = Codes(DType::kInt8, {s.m, s.k}, a_values);
          std::vector<int32_t> b_layout(s.k * s.n);
          for (int64_t k = 0; k < s.k; ++k) {
            for (int64_t n = 0; n < s.n; ++n) {
              b_layout[transpose ? n * s.k + k : k * s.n + n] = b_values[k * s.n + n];
            }
          }
          const OwnedTensor b = Codes(dtype, transpose ? std::vector<int64_t>{s.n, s.k}
                                                       : std::vector<int64_t>{s.k, s.n},
                                      b_layout);
          MatMulInputs in{a.view(), Params(DType::kInt8, Granularity::kPerTensor, 0, {0.5f}), b.view(),
                          Params(dtype, Granularity::kPerGroup, transpose ? 1 : 0, scales, zeros, group)};
          MatMulOptions options;
          options.transpose_b = transpose;
          std::vector<float> expected(s.m * s.n);
          for (int64_t m = 0; m < s.m; ++m) {
            for (int64_t n = 0; n < s.n; ++n) {
              double y = 0;
              for (int64_t g = 0; g < groups; ++g) {
                int64_t sum = 0;
                const int32_t zb = zeros.empty() ? 0 : zeros[slot(g, n)];
                for (int64_t k = g * group; k < std::min<int64_t>(s.k, (g + 1) * group); ++k) {
                  sum += int64_t{a_values[m * s.k + k]} * (b_values[k * s.n + n] - zb);
                }
                y += 0.5 * scales[slot(g, n)] * static_cast<double>(sum);
              }
              expected[m * s.n + n] = static_cast<float>(y);
            }
          }
          for (Isa isa : kLevels) {
            EXPECT_EQ(Multiply(in, options, isa), expected)
                << DTypeName(dtype) << " group " << group << " transpose " << transpose << " at "
                << IsaName(isa) << " rows " << rows;
          }
        }
      }
    }
  }
}

TEST(MatMulTest, LongSumsSplitIntoExactSpans) {
  // K = 70000 > 65536: the extreme products would overflow one int32 sum.
  const int64_t k = 70000;
  const OwnedTensor a = Codes(DType::kInt8, {1, k}, std::vector<int32_t>(k, -128));
  const OwnedTensor b = Codes(DType::kInt8, {k, 2}, std::vector<int32_t>(2 * k, -128));
  MatMulInputs in{a.view(), Params(DType::kInt8, Granularity::kPerTensor, 0, {1.0f}), b.view(),
                  Params(DType::kInt8, Granularity::kPerTensor, 0, {1.0f})};
  const float expected = static_cast<float>(int64_t{128 * 128} * k);
  for (Isa isa : kLevels) {
    EXPECT_THAT(Multiply(in, {}, isa), ::testing::ElementsAre(expected, expected)) << IsaName(isa);
  }
}

TEST(MatMulTest, FloatOperandsAreQuantizedPerRowAndPerChannel) {
  // The product of Quantize's own INT8 codes (a per row, b per output
  // channel), and near the float product on Gaussian data: each operand's
  // rounding error is uniform with width absmax / 127 (about 3σ / 127), so
  // the product's relative error is about √2 · 3 / 127 / √12 ≈ 1 %; the
  // bound is twice that.
  const Shape s{9, 200, 21};
  const auto av = Gaussian(s.m * s.k, 10);
  const auto bv = Gaussian(s.n * s.k, 11);
  const OwnedTensor a = Float32Tensor({s.m, s.k}, av);
  const OwnedTensor b = Float32Tensor({s.n, s.k}, bv);
  MatMulOptions options;
  options.transpose_b = true;
  options.compute_reference_error = true;
  MatMulResult result;
  const std::vector<float> y = Multiply({a.view(), std::nullopt, b.view(), std::nullopt}, options,
                                   Isa::kAvx512Vnni, nullptr, &result);

  QuantizeOptions per_row;
  per_row.dtype = DType::kInt8;
  per_row.granularity = Granularity::kPerChannel;
  per_row.axis = 0;
  const auto qa = Quantize(a.view(), per_row);
  const auto qb = Quantize(b.view(), per_row);  // Rows of [N, K] are output channels.
  ASSERT_TRUE(qa.ok() && qb.ok());
  const auto ca = As<int8_t>(qa->data);
  const auto cb = As<int8_t>(qb->data);
  double err = 0, ref = 0, sq_err = 0;
  for (int64_t m = 0; m < s.m; ++m) {
    for (int64_t n = 0; n < s.n; ++n) {
      int64_t sum = 0;
      double exact = 0;
      for (int64_t k = 0; k < s.k; ++k) {
        sum += int64_t{ca[m * s.k + k]} * cb[n * s.k + k];
        exact += double{av[m * s.k + k]} * bv[n * s.k + k];
      }
      const double scale = double{qa->result.params.scales[m]} * qb->result.params.scales[n];
      EXPECT_EQ(y[m * s.n + n], static_cast<float>(scale * static_cast<double>(sum)));
      err += std::fabs(y[m * s.n + n] - exact);
      ref += std::fabs(exact);
      sq_err += (y[m * s.n + n] - exact) * (y[m * s.n + n] - exact);
    }
  }
  EXPECT_LT(err / ref, 0.02);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->count, s.m * s.n);
  EXPECT_NEAR(result.error->mse, sq_err / (s.m * s.n), 1e-9 * sq_err);
}

TEST(MatMulTest, OutlierColumnsRunInFloatAndCutTheError) {
  // One feature near −67 among values below 1 (LLM.int8()'s case): in int8
  // it flattens its row's scale; kept in float the error falls.
  const Shape s{16, 64, 32};
  auto av = Gaussian(s.m * s.k, 12);
  for (float& x : av) x *= 0.3f;
  for (int64_t m = 0; m < s.m; ++m) av[m * s.k + 5] = -67.0f + 0.1f * m;
  const auto bv = Gaussian(s.k * s.n, 13);
  const OwnedTensor a = Float32Tensor({s.m, s.k}, av);
  const OwnedTensor b = Float32Tensor({s.k, s.n}, bv);
  MatMulOptions plain;
  plain.compute_reference_error = true;
  MatMulOptions decomposed = plain;
  decomposed.outlier_threshold = 6.0f;
  MatMulResult without, with;
  for (Isa isa : kLevels) {
    Multiply({a.view(), std::nullopt, b.view(), std::nullopt}, plain, isa, nullptr, &without);
    Multiply({a.view(), std::nullopt, b.view(), std::nullopt}, decomposed, isa, nullptr, &with);
    EXPECT_EQ(without.outlier_columns, 0);
    EXPECT_EQ(with.outlier_columns, 1);
    EXPECT_GT(with.error->sqnr_db, without.error->sqnr_db + 10) << IsaName(isa);
  }
}

TEST(MatMulTest, Nf4WeightsMultiplyAFloatAInFloat) {
  const Shape s{3, 70, 20};
  const auto av = Gaussian(s.m * s.k, 14);
  const auto codes = RandomInts(s.k * s.n, 0, 15, 15);
  const OwnedTensor a = Float32Tensor({s.m, s.k}, av);
  const OwnedTensor b = Codes(DType::kNF4, {s.n, s.k}, codes);
  std::vector<float> scales(s.n * 3);
  for (size_t i = 0; i < scales.size(); ++i) scales[i] = 0.25f + 0.01f * i;
  QuantParams bp = Params(DType::kNF4, Granularity::kPerGroup, 1, scales, {}, 32);
  bp.full_range = false;
  MatMulOptions options;
  options.transpose_b = true;
  std::vector<float> reference;
  for (Isa isa : kLevels) {
    const std::vector<float> y = Multiply({a.view(), std::nullopt, b.view(), bp}, options, isa);
    if (reference.empty()) reference = y;
    EXPECT_EQ(y, reference) << IsaName(isa);
  }
  // A float32 chain of fused multiply-adds of the dequantized weights.
  const auto deq = Dequantize(b.view(), bp, DType::kFloat32);
  ASSERT_TRUE(deq.ok()) << deq.status();
  const auto w = As<float>(*deq);
  for (int64_t m = 0; m < s.m; ++m) {
    for (int64_t n = 0; n < s.n; ++n) {
      float sum = 0;
      for (int64_t k = 0; k < s.k; ++k) sum = std::fma(av[m * s.k + k], w[n * s.k + k], sum);
      EXPECT_EQ(reference[m * s.n + n], sum);
    }
  }
}

TEST(MatMulTest, BiasAndOutputTypes) {
  const OwnedTensor a = Codes(DType::kInt8, {2, 3}, {1, 2, 3, -1, -2, -3});
  const OwnedTensor b = Codes(DType::kInt8, {3, 2}, {1, 0, 0, 1, 1, 1});
  const OwnedTensor bias = Float32Tensor({2}, {0.5f, -0.25f});
  MatMulInputs in{a.view(), Params(DType::kInt8, Granularity::kPerTensor, 0, {1.0f}), b.view(),
                  Params(DType::kInt8, Granularity::kPerTensor, 0, {2.0f}), bias.view()};
  EXPECT_THAT(Multiply(in, {}, Isa::kAvx512Vnni), ::testing::ElementsAre(8.5f, 9.75f, -7.5f, -10.25f));
  MatMulOptions bf16;
  bf16.output_dtype = DType::kBFloat16;
  const auto out = MatMul(in, bf16);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(As<uint16_t>(out->data), ::testing::ElementsAre(0x4108, 0x411c, 0xc0f0, 0xc124));
}

TEST(MatMulTest, ResultDoesNotDependOnThePool) {
  const Shape s{300, 96, 260};
  const OwnedTensor a = Float32Tensor({s.m, s.k}, Gaussian(s.m * s.k, 16));
  const OwnedTensor b = Float32Tensor({s.k, s.n}, Gaussian(s.k * s.n, 17));
  MatMulInputs in{a.view(), std::nullopt, b.view(), std::nullopt};
  MatMulOptions options;
  options.outlier_threshold = 2.5f;
  options.compute_reference_error = true;
  KernelPool pool(3, 64);
  MatMulResult alone, shared;
  EXPECT_EQ(Multiply(in, options, Isa::kAvx512Vnni, nullptr, &alone),
            Multiply(in, options, Isa::kAvx512Vnni, &pool, &shared));
  EXPECT_GT(alone.outlier_columns, 0);
  EXPECT_EQ(alone.error->mse, shared.error->mse);
}

absl::Status PrepareStatus(const MatMulInputs& in, const MatMulOptions& options = {}) {
  return PrepareMatMul(in, options).status();
}

TEST(MatMulTest, BadRequestsNameTheFieldAndTheNumbers) {
  const OwnedTensor a = Float32Tensor({2, 3}, std::vector<float>(6, 1.0f));
  const OwnedTensor b = Float32Tensor({4, 5}, std::vector<float>(20, 1.0f));
  EXPECT_THAT(PrepareStatus({a.view(), std::nullopt, b.view(), std::nullopt}).message(),
              HasSubstr("a.shape[1] = 3 (K) differs from b.shape[0] = 4"));
  const OwnedTensor v = Float32Tensor({6}, std::vector<float>(6, 1.0f));
  EXPECT_THAT(PrepareStatus({v.view(), std::nullopt, b.view(), std::nullopt}).message(),
              HasSubstr("a.shape has rank 1"));
  const OwnedTensor q = Codes(DType::kInt8, {2, 4}, std::vector<int32_t>(8, 1));
  EXPECT_THAT(PrepareStatus({q.view(), std::nullopt, b.view(), std::nullopt}).message(),
              HasSubstr("a_params are required"));
  const OwnedTensor b3 = Float32Tensor({3, 5}, std::vector<float>(15, 1.0f));
  const OwnedTensor bias = Float32Tensor({4}, std::vector<float>(4, 0.0f));
  EXPECT_THAT(PrepareStatus({a.view(), std::nullopt, b3.view(), std::nullopt, bias.view()}).message(),
              HasSubstr("bias.shape must be [N] = [5]"));
  MatMulOptions nan_threshold;
  nan_threshold.outlier_threshold = std::nanf("");
  EXPECT_THAT(PrepareStatus({a.view(), std::nullopt, b3.view(), std::nullopt}, nan_threshold).message(),
              HasSubstr("outlier_threshold"));
  MatMulOptions int_out;
  int_out.output_dtype = DType::kInt8;
  EXPECT_THAT(PrepareStatus({a.view(), std::nullopt, b3.view(), std::nullopt}, int_out).message(),
              HasSubstr("output_dtype INT8"));
  // Per-input-channel weight scales cannot leave the dot product.
  const OwnedTensor b4 = Codes(DType::kInt8, {3, 5}, std::vector<int32_t>(15, 1));
  EXPECT_THAT(PrepareStatus({a.view(), std::nullopt, b4.view(),
                             Params(DType::kInt8, Granularity::kPerChannel, 0, {1, 1, 1})})
                  .message(),
              HasSubstr("b_params.granularity PER_CHANNEL on axis 0 is not supported"));
  // NaN in a float a is found when the job runs.
  std::vector<float> with_nan(6, 1.0f);
  with_nan[4] = std::nanf("");
  const OwnedTensor an = Float32Tensor({2, 3}, with_nan);
  const auto run = MatMul({an.view(), std::nullopt, b3.view(), std::nullopt}, {});
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(run.status().message(), HasSubstr("a.data[4] = nan"));
  // The same message where matmul reads a float input itself: the outlier
  // search, and the bias.
  MatMulOptions outliers;
  outliers.outlier_threshold = 6.0f;
  EXPECT_THAT(MatMul({an.view(), std::nullopt, b3.view(), std::nullopt}, outliers).status().message(),
              HasSubstr("a.data[4] = nan"));
  const OwnedTensor nan_bias = Float32Tensor({5}, {0.0f, std::nanf(""), 0.0f, 0.0f, 0.0f});
  EXPECT_THAT(
      MatMul({a.view(), std::nullopt, b3.view(), std::nullopt, nan_bias.view()}, {}).status().message(),
      HasSubstr("bias.data[1] = nan"));
}

TEST(MatMulTest, EmptyDimensions) {
  const OwnedTensor a = Float32Tensor({2, 0}, {});
  const OwnedTensor b = Float32Tensor({0, 3}, {});
  const OwnedTensor bias = Float32Tensor({3}, {1.0f, 2.0f, 3.0f});
  EXPECT_THAT(Multiply({a.view(), std::nullopt, b.view(), std::nullopt, bias.view()}, {}, Isa::kAvx512Vnni),
              ::testing::ElementsAre(1, 2, 3, 1, 2, 3));
  const OwnedTensor a0 = Float32Tensor({0, 4}, {});
  const OwnedTensor b0 = Float32Tensor({4, 2}, std::vector<float>(8, 1.0f));
  EXPECT_TRUE(Multiply({a0.view(), std::nullopt, b0.view(), std::nullopt}, {}, Isa::kAvx512Vnni).empty());
}

}  // namespace
}  // namespace quantd
