// The SIMD min/max and INT8/UINT8 kernels against the scalar reference
// (format_kernels_test.cc has the other formats): bit-exact integer outputs
// and x', exact min/max, clipped counts and error maxima, error sums to
// rounding. Random data, tails of every length 0..70, unaligned buffers,
// denormals, values on rounding ties, huge and tiny scales, every rounding
// mode, input and output dtype. Paths the CPU lacks are skipped.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "formats/element_io.h"
#include "kernels/kernels.h"
#include "simd_kernel_test_util.h"

namespace quantd {
namespace {

using ::quantd::testing::EncodeFloats;
using ::quantd::testing::ExpectSumsMatch;
using ::quantd::testing::SimdPaths;

// Every length up to 70 (all tails of 16- and 8-lane loops), and a long one.
std::vector<int64_t> TailLengths() {
  std::vector<int64_t> lengths;
  for (int64_t n = 0; n <= 70; ++n) lengths.push_back(n);
  lengths.push_back(1000);
  return lengths;
}

using IntKernelsTest = ::quantd::testing::SimdKernelsTest;

// Float32 values of several kinds; huge ones stay finite in FLOAT16.
std::vector<float> Values(std::mt19937& rng, int64_t n, int kind, DType dtype = DType::kFloat32) {
  const float huge = dtype == DType::kFloat16 ? 2e3f : 1e30f;
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_int_distribution<int> ints(-300, 300);
  std::vector<float> x(n);
  for (float& v : x) {
    switch (kind) {
      case 0: v = normal(rng); break;
      case 1: v = static_cast<float>(ints(rng)) * 0.5f; break;  // Ties at scale 1.
      case 2: v = normal(rng) * 1e-39f; break;                  // Denormals.
      default: v = normal(rng) * huge; break;                   // Huge: clips.
    }
  }
  return x;
}

TEST_P(IntKernelsTest, QuantizeMatchesReferenceBitForBit) {
  std::mt19937 rng(42);
  const std::vector<float> channel_scales{1.0f, 0.037f, 3e-38f, 1e30f, 0.5f, 7.25f, 1e-3f, 2.0f};
  for (DType src_dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    for (DType dst_dtype : {DType::kInt8, DType::kUInt8}) {
      for (Rounding rounding : {Rounding::kHalfToEven, Rounding::kHalfAwayFromZero, Rounding::kFloor}) {
        for (int kind = 0; kind < 4; ++kind) {
          for (int64_t n : TailLengths()) {
            for (int stride : {0, 1}) {
              const int offset = static_cast<int>(n % 3);
              const std::vector<float> x = Values(rng, n, kind, src_dtype);
              const std::vector<std::byte> src = EncodeFloats(x, src_dtype, offset);
              // Per-element channels cycle through the scale list.
              std::vector<float> scales(std::max<int64_t>(n, 1)), inv(scales.size()), zps(scales.size());
              for (size_t c = 0; c < scales.size(); ++c) {
                scales[c] = kind == 1 ? 1.0f : channel_scales[c % channel_scales.size()];
                inv[c] = 1.0f / scales[c];
                zps[c] = dst_dtype == DType::kUInt8 ? static_cast<float>(c * 37 % 256)
                                                    : static_cast<float>(static_cast<int>(c * 37 % 256) - 128);
              }
              const bool is_unsigned = dst_dtype == DType::kUInt8;
              QuantizeArgs args;
              args.src = {src_dtype, src.data() + offset};
              args.format = FindElementFormat(dst_dtype);
              args.deq_dtype = src_dtype;
              args.params = {scales.data(), inv.data(), stride == 0 && kind % 2 ? nullptr : zps.data()};
              args.qmin = is_unsigned ? 0.0f : (kind == 3 ? -127.0f : -128.0f);
              args.qmax = is_unsigned ? 255.0f : 127.0f;
              args.rounding = rounding;
              const SlotSpan span{0, n, 0, stride};
              std::vector<std::byte> q_ref(n + 1), q_simd(n + 1), d_ref(src.size()), d_simd(src.size());
              ErrorSums s_ref, s_simd;
              args.dst = q_ref.data() + 1;
              args.deq = d_ref.data() + offset;
              reference().quantize(args, span, &s_ref);
              args.dst = q_simd.data() + 1;
              args.deq = d_simd.data() + offset;
              simd().quantize(args, span, &s_simd);
              SCOPED_TRACE(::testing::Message() << DTypeName(src_dtype) << "->" << DTypeName(dst_dtype)
                                                << " rounding " << RoundingName(rounding) << " kind " << kind
                                                << " n " << n << " stride " << stride);
              ASSERT_EQ(q_ref, q_simd);
              ASSERT_EQ(d_ref, d_simd);
              ExpectSumsMatch(s_ref, s_simd);
            }
          }
        }
      }
    }
  }
}

TEST_P(IntKernelsTest, MinMaxMatchesReferenceAndFindsTheFirstNonFinite) {
  std::mt19937 rng(7);
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    for (int64_t n = 0; n <= 64; ++n) {
      for (int stride : {0, 1}) {
        const std::vector<float> x = Values(rng, n, static_cast<int>(n % 4), dtype);
        const std::vector<std::byte> src = EncodeFloats(x, dtype, 1);
        const size_t channels = stride ? std::max<int64_t>(n, 1) : 1;
        std::vector<float> mins_ref(channels, INFINITY), maxs_ref(channels, -INFINITY);
        std::vector<float> mins_simd = mins_ref, maxs_simd = maxs_ref;
        const SlotSpan span{0, n, 0, stride};
        EXPECT_EQ(reference().min_max({dtype, src.data() + 1}, span, mins_ref.data(), maxs_ref.data()), -1);
        EXPECT_EQ(simd().min_max({dtype, src.data() + 1}, span, mins_simd.data(), maxs_simd.data()), -1);
        ASSERT_EQ(mins_ref, mins_simd) << DTypeName(dtype) << " n " << n;
        ASSERT_EQ(maxs_ref, maxs_simd) << DTypeName(dtype) << " n " << n;
      }
    }
    // A NaN or infinity anywhere: both report the same first index.
    for (int64_t bad_at : {0, 5, 16, 40, 63}) {
      for (float bad : {NAN, INFINITY, -INFINITY}) {
        std::vector<float> x = Values(rng, 64, 0);
        x[bad_at] = bad;
        if (bad_at + 9 < 64) x[bad_at + 9] = NAN;
        const std::vector<std::byte> src = EncodeFloats(x, dtype, 0);
        float mn = INFINITY, mx = -INFINITY;
        EXPECT_EQ(simd().min_max({dtype, src.data()}, {0, 64, 0, 0}, &mn, &mx), bad_at);
        EXPECT_EQ(reference().min_max({dtype, src.data()}, {0, 64, 0, 0}, &mn, &mx), bad_at);
      }
    }
  }
}

TEST_P(IntKernelsTest, DequantizeMatchesReferenceBitForBit) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255);
  for (DType src_dtype : {DType::kInt8, DType::kUInt8}) {
    for (DType dst_dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
      for (int64_t n = 0; n <= 70; ++n) {
        for (int stride : {0, 1}) {
          std::vector<std::byte> q(n + 2);
          for (auto& b : q) b = static_cast<std::byte>(byte(rng));
          std::vector<float> scales(std::max<int64_t>(n, 1)), zps(scales.size());
          for (size_t c = 0; c < scales.size(); ++c) {
            scales[c] = std::ldexp(1.0f + c * 0.01f, static_cast<int>(c % 40) - 20) * (c % 7 == 0 ? 1e30f : 1.0f);
            zps[c] = static_cast<float>(static_cast<int>(c % 50) - (src_dtype == DType::kInt8 ? 25 : 0));
          }
          const size_t out_bytes = n * DTypeBits(dst_dtype) / 8 + 3;
          std::vector<std::byte> ref(out_bytes), got(out_bytes);
          DequantizeArgs args;
          args.format = FindElementFormat(src_dtype);
          args.src = q.data() + 1;
          args.dst_dtype = dst_dtype;
          args.params = {scales.data(), nullptr, n % 2 ? zps.data() : nullptr};
          args.dst = ref.data() + 1;
          reference().dequantize(args, {0, n, 0, stride});
          args.dst = got.data() + 1;
          simd().dequantize(args, {0, n, 0, stride});
          ASSERT_EQ(ref, got) << DTypeName(src_dtype) << "->" << DTypeName(dst_dtype) << " n " << n;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Simd, IntKernelsTest, ::testing::ValuesIn(SimdPaths()),
                         [](const auto& info) { return info.param.name; });

TEST(DispatchTest, SelectionRespectsTheCap) {
  EXPECT_EQ(SelectKernels(Isa::kScalar).isa, Isa::kScalar);
  EXPECT_LE(SelectKernels(Isa::kAvx2).isa, Isa::kAvx2);
  EXPECT_LE(SelectKernels(Isa::kAvx512Vnni).isa, DetectedIsa());
}

TEST(DispatchTest, IsaNamesRoundTrip) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni}) {
    EXPECT_EQ(*ParseIsa(IsaName(isa)), isa);
  }
  EXPECT_FALSE(ParseIsa("avx9").ok());
}

}  // namespace
}  // namespace quantd
