// The SIMD histogram-binning kernels against the scalar reference: the same
// counts, minimum, maximum and "beyond" flag, and the same first non-finite
// index, for every float input dtype, every length 0..70 (the vector tails),
// unaligned data, values on bin edges, at the range and the lower bound,
// signed zeros and negative values whose scaled product underflows. And the
// reference's bins against values worked out by hand.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/kernels.h"
#include "simd_kernel_test_util.h"

namespace quantd {
namespace {

using testing::EncodeFloats;
using testing::SimdKernelsTest;
using testing::SimdPaths;

struct Binned {
  std::vector<int64_t> counts;
  float lo = 0, hi = 0;
  bool beyond = false;
  int64_t first_bad = 0;
  bool operator==(const Binned&) const = default;
};

// 2 half bins of width 2^-3 over [-8, 8] (scale 8 = 1 / width); `lower`
// leaves out |x| <= lower.
Binned Bin(const KernelTable& table, const std::vector<std::byte>& src, DType dtype, int64_t n,
           float lower, float upper = 8.0f) {
  constexpr int64_t kHalf = 64;
  Binned out;
  out.counts.assign(2 * kHalf, 0);
  HistogramArgs args;
  args.src = FloatSource{dtype, src.data() + 3};
  args.lower = lower;
  args.upper = upper;
  args.scale = static_cast<float>(kHalf) / upper;
  args.half = kHalf;
  args.counts = out.counts.data();
  HistogramSeen seen;
  out.first_bad = table.histogram(args, SlotSpan{0, n, 0, 0}, &seen);
  out.lo = seen.lo;
  out.hi = seen.hi;
  out.beyond = seen.beyond;
  return out;
}

// Mostly normal values, with edges, the range, tiny values and zeros mixed in.
std::vector<float> Values(std::mt19937& rng, int64_t n) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_int_distribution<int> pick(0, 9), edge(-64, 64);
  std::vector<float> x(n);
  for (float& v : x) {
    switch (pick(rng)) {
      case 0: v = static_cast<float>(edge(rng)) / 8.0f; break;  // A bin edge.
      case 1: v = pick(rng) % 2 ? 8.0f : -8.0f; break;          // The range.
      case 2: v = pick(rng) % 2 ? 1e-44f : -1e-44f; break;      // Denormal.
      case 3: v = pick(rng) % 2 ? 0.0f : -0.0f; break;
      case 4: v = 0.5f * (pick(rng) % 2 ? 1 : -1); break;       // The lower bound below.
      default: v = normal(rng); break;                          // Some beyond 8.
    }
  }
  return x;
}

class HistogramKernelsTest : public SimdKernelsTest {};

TEST_P(HistogramKernelsTest, MatchesTheReference) {
  std::mt19937 rng(11);
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
    for (int64_t n = 0; n <= 70; ++n) {
      const std::vector<float> x = Values(rng, n);
      const std::vector<std::byte> src = EncodeFloats(x, dtype, 3);
      for (float lower : {-1.0f, 0.5f}) {
        for (float upper : {8.0f, 1048576.0f, -1.0f}) {  // 2^20: tiny products underflow.
          ASSERT_EQ(Bin(simd(), src, dtype, n, lower, upper),
                    Bin(reference(), src, dtype, n, lower, upper))
              << DTypeName(dtype) << " n " << n << " lower " << lower << " upper " << upper;
        }
      }
    }
  }
}

TEST_P(HistogramKernelsTest, FindsTheFirstNonFinite) {
  std::mt19937 rng(5);
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    for (int64_t bad_at : {0, 5, 16, 40, 63}) {
      for (float bad : {NAN, INFINITY, -INFINITY}) {
        std::vector<float> x = Values(rng, 64);
        x[bad_at] = bad;
        if (bad_at + 9 < 64) x[bad_at + 9] = NAN;
        const std::vector<std::byte> src = EncodeFloats(x, dtype, 3);
        EXPECT_EQ(Bin(simd(), src, dtype, 64, -1).first_bad, bad_at);
        EXPECT_EQ(Bin(reference(), src, dtype, 64, -1).first_bad, bad_at);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Simd, HistogramKernelsTest, ::testing::ValuesIn(SimdPaths()),
                         [](const auto& info) { return info.param.name; });

// Width 1/8 over [-8, 8], 128 bins: bin i holds [(i - 64) / 8, (i - 63) / 8).
TEST(HistogramBinTest, BinsAreHalfOpenAndTheRangeIsInTheLastBin) {
  EXPECT_EQ(HistogramBin(0.0f, 8.0f, 64), 64);
  EXPECT_EQ(HistogramBin(-0.0f, 8.0f, 64), 64);  // -0 * 8 is -0, but x < 0 is false.
  EXPECT_EQ(HistogramBin(0.125f, 8.0f, 64), 65);
  EXPECT_EQ(HistogramBin(0.1249f, 8.0f, 64), 64);
  EXPECT_EQ(HistogramBin(-0.125f, 8.0f, 64), 63);
  EXPECT_EQ(HistogramBin(-0.1251f, 8.0f, 64), 62);
  EXPECT_EQ(HistogramBin(-8.0f, 8.0f, 64), 0);
  EXPECT_EQ(HistogramBin(8.0f, 8.0f, 64), 127);
  EXPECT_EQ(HistogramBin(7.99f, 8.0f, 64), 127);
  // A negative value whose product underflows to -0 lies below zero.
  EXPECT_EQ(HistogramBin(-1e-45f, 0.5f, 64), 63);
  EXPECT_EQ(HistogramBin(1e-45f, 0.5f, 64), 64);
}

}  // namespace
}  // namespace quantd
