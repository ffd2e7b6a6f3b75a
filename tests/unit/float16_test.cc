// FP16 and BF16 conversions against independent oracles: the compiler's own
// _Float16 conversions, and a nearest-value search in double for bfloat16.
#include "formats/float16.h"

#include <bit>
#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

namespace quantd {
namespace {

// Every float bit pattern whose low bits are interesting for rounding, plus
// a stride through all the rest.
template <typename Fn>
void ForSampledFloats(Fn fn) {
  for (uint64_t b = 0; b <= 0xffffffffu; b += 4099) fn(static_cast<uint32_t>(b));
  for (uint32_t high = 0; high < 0x10000u; high += 1) {
    // Around halfway points of both narrowings: bit 12/13 (fp16), bit 15/16 (bf16).
    for (uint32_t low : {0x0000u, 0x0fffu, 0x1000u, 0x1001u, 0x2000u, 0x3000u, 0x7fffu, 0x8000u,
                         0x8001u, 0xffffu}) {
      fn((high << 16) | low);
    }
  }
}

TEST(Float16Test, EveryHalfDecodesLikeTheCompiler) {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const _Float16 oracle = std::bit_cast<_Float16>(static_cast<uint16_t>(h));
    const float expected = static_cast<float>(oracle);
    const float actual = HalfBitsToFloat(static_cast<uint16_t>(h));
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(actual)) << std::hex << h;
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(actual), std::bit_cast<uint32_t>(expected)) << std::hex << h;
    }
  }
}

TEST(Float16Test, EncodesLikeTheCompiler) {
  ForSampledFloats([](uint32_t bits) {
    const float f = std::bit_cast<float>(bits);
    const uint16_t expected = std::bit_cast<uint16_t>(static_cast<_Float16>(f));
    const uint16_t actual = FloatToHalfBits(f);
    if (std::isnan(f)) {
      ASSERT_EQ(actual & 0x7c00u, 0x7c00u) << std::hex << bits;
      ASSERT_NE(actual & 0x03ffu, 0u) << std::hex << bits;
      ASSERT_EQ(actual & 0x8000u, expected & 0x8000u);
    } else {
      ASSERT_EQ(actual, expected) << "float bits 0x" << std::hex << bits;
    }
  });
}

TEST(Float16Test, HandPickedValues) {
  EXPECT_EQ(FloatToHalfBits(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalfBits(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalfBits(65519.0f), 0x7bff);
  EXPECT_EQ(FloatToHalfBits(65520.0f), 0x7c00);  // The tie rounds to even: infinity.
  EXPECT_EQ(FloatToHalfBits(0x1p-24f), 0x0001);
  EXPECT_EQ(FloatToHalfBits(0x1p-25f), 0x0000);  // Tie with zero: even.
  EXPECT_EQ(FloatToHalfBits(-0.0f), 0x8000);
}

// The bfloat16 nearest to f, found by comparing distances in double.
uint16_t NearestBFloat16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint16_t down = static_cast<uint16_t>(bits >> 16);
  const uint16_t up = static_cast<uint16_t>(down + 1);
  if ((bits & 0xffffu) == 0) return down;
  const double x = f;
  const double d_down = std::fabs(x - static_cast<double>(BFloat16BitsToFloat(down)));
  const float up_value = BFloat16BitsToFloat(up);
  const double d_up = std::isinf(up_value) ? std::ldexp(1.0, 128) - std::fabs(x)
                                           : std::fabs(static_cast<double>(up_value) - x);
  if (d_down < d_up) return down;
  if (d_up < d_down) return up;
  return (down & 1) ? up : down;
}

TEST(BFloat16Test, EncodesToTheNearestValueTiesToEven) {
  ForSampledFloats([](uint32_t bits) {
    const float f = std::bit_cast<float>(bits);
    if (std::isnan(f)) {
      const uint16_t b = FloatToBFloat16Bits(f);
      ASSERT_TRUE(std::isnan(BFloat16BitsToFloat(b))) << std::hex << bits;
      return;
    }
    if (std::isinf(f)) {
      ASSERT_EQ(FloatToBFloat16Bits(f), bits >> 16);
      return;
    }
    ASSERT_EQ(FloatToBFloat16Bits(f), NearestBFloat16(f)) << "float bits 0x" << std::hex << bits;
  });
}

TEST(BFloat16Test, DecodesByWidening) {
  EXPECT_EQ(BFloat16BitsToFloat(0x3f80), 1.0f);
  EXPECT_EQ(BFloat16BitsToFloat(0xc040), -3.0f);
}

}  // namespace
}  // namespace quantd
