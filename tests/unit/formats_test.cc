// The element formats against the specifications: every code of every
// 4- and 8-bit float format, every FLOAT16 value through every encoder
// against a brute-force nearest search, and the packing order of API.md.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "formats/element_format.h"
#include "formats/float16.h"
#include "formats/minifloat.h"
#include "formats/scalar_quantizer.h"
#include "quantd/dequantize.h"
#include "quantd/quantize.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using testing::As;
using testing::Float32Tensor;

const ElementFormat& Format(DType dtype) { return *FindElementFormat(dtype); }

// The value of a code from the spec's own formula, written independently
// of the library: (-1)^s * 2^(e - bias) * (1 + m / 2^M), subnormals
// 2^(1 - bias) * m / 2^M; NaN/Inf per format.
double SpecValue(DType dtype, uint32_t code) {
  int e_bits, m_bits, bias, bits;
  switch (dtype) {
    case DType::kFloat8E4M3FN: e_bits = 4, m_bits = 3, bias = 7, bits = 8; break;
    case DType::kFloat8E5M2: e_bits = 5, m_bits = 2, bias = 15, bits = 8; break;
    default: e_bits = 2, m_bits = 1, bias = 1, bits = 4; break;
  }
  const int s = code >> (bits - 1);
  const int e = (code >> m_bits) & ((1 << e_bits) - 1);
  const int m = code & ((1 << m_bits) - 1);
  const double sign = s ? -1.0 : 1.0;
  if (dtype == DType::kFloat8E4M3FN && e == 15 && m == 7) return std::nan("");
  if (dtype == DType::kFloat8E5M2 && e == 31) {
    return m == 0 ? sign * std::numeric_limits<double>::infinity() : std::nan("");
  }
  if (e == 0) return sign * std::pow(2.0, 1 - bias) * m / (1 << m_bits);
  return sign * std::pow(2.0, e - bias) * (1.0 + static_cast<double>(m) / (1 << m_bits));
}

TEST(FormatsTest, EveryFloatCodeDecodesAsTheSpecSays) {
  for (DType dtype : {DType::kFloat8E4M3FN, DType::kFloat8E5M2, DType::kFloat4E2M1}) {
    const ElementFormat& f = Format(dtype);
    for (uint32_t code = 0; code < (1u << f.bits); ++code) {
      const double want = SpecValue(dtype, code);
      const float got = DecodeMiniFloat(f.minifloat, f.bits, code);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << DTypeName(dtype) << " code " << code;
      } else {
        EXPECT_EQ(got, want) << DTypeName(dtype) << " code " << code;
        EXPECT_EQ(std::signbit(got), (code >> (f.bits - 1)) == 1u);
      }
    }
  }
}

TEST(FormatsTest, LandmarksOfTheOcpTables) {
  const ElementFormat& e4m3 = Format(DType::kFloat8E4M3FN);
  EXPECT_EQ(DecodeMiniFloat(e4m3.minifloat, 8, 0x7e), 448.0f);
  EXPECT_TRUE(std::isnan(DecodeMiniFloat(e4m3.minifloat, 8, 0xff)));
  EXPECT_EQ(DecodeMiniFloat(e4m3.minifloat, 8, 0x08), 0x1p-6f);
  EXPECT_EQ(DecodeMiniFloat(e4m3.minifloat, 8, 0x01), 0x1p-9f);
  const ElementFormat& e5m2 = Format(DType::kFloat8E5M2);
  EXPECT_EQ(DecodeMiniFloat(e5m2.minifloat, 8, 0x7b), 57344.0f);
  EXPECT_EQ(DecodeMiniFloat(e5m2.minifloat, 8, 0xfc), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(DecodeMiniFloat(e5m2.minifloat, 8, 0x01), 0x1p-16f);
  const ElementFormat& e2m1 = Format(DType::kFloat4E2M1);
  const float fp4[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (uint32_t c = 0; c < 8; ++c) {
    EXPECT_EQ(DecodeMiniFloat(e2m1.minifloat, 4, c), fp4[c]);
    EXPECT_EQ(DecodeMiniFloat(e2m1.minifloat, 4, c | 8), -fp4[c]);
  }
  EXPECT_EQ(kNF4Levels[0], -1.0f);
  EXPECT_EQ(kNF4Levels[7], 0.0f);
  EXPECT_EQ(kNF4Levels[15], 1.0f);
}

// The nearest finite level by exhaustive search; a tie goes to the code
// with an even last bit (round half to even); beyond the largest level,
// the largest (saturation).
struct Nearest {
  double value;
  uint32_t code;
};
Nearest BruteForceNearest(const std::vector<std::pair<double, uint32_t>>& levels, double x) {
  Nearest best{std::nan(""), 0};
  double best_distance = std::numeric_limits<double>::infinity();
  for (const auto& [value, code] : levels) {
    const double d = std::fabs(value - x);
    const bool tie = d == best_distance;
    if (d < best_distance || (tie && (code & 1) == 0 && (best.code & 1) == 1)) {
      best_distance = d;
      best = {value, code};
    }
  }
  return best;
}

TEST(FormatsTest, EveryFloat16ValueEncodesToTheNearestLevel) {
  for (DType dtype : {DType::kFloat8E4M3FN, DType::kFloat8E5M2, DType::kFloat4E2M1, DType::kNF4}) {
    const ElementFormat& f = Format(dtype);
    std::vector<std::pair<double, uint32_t>> levels;
    float boundaries[15];
    CodebookBoundaries(kNF4Levels, 16, boundaries);
    SlotQuantizer q;
    q.format = &f;
    if (dtype == DType::kNF4) {
      q.levels = kNF4Levels;
      q.boundaries = boundaries;
      for (uint32_t c = 0; c < 16; ++c) levels.push_back({kNF4Levels[c], c});
    } else {
      for (uint32_t c = 0; c < (1u << f.bits); ++c) {
        const double v = SpecValue(dtype, c);
        if (std::isfinite(v)) levels.push_back({v, c});
      }
    }
    for (uint32_t h = 0; h < 65536; ++h) {
      const float x = HalfBitsToFloat(static_cast<uint16_t>(h));
      if (!std::isfinite(x)) continue;
      const QuantizedValue got = QuantizeValue(q, x, 0.0f);
      const Nearest want = BruteForceNearest(levels, x);
      ASSERT_EQ(got.level, want.value) << DTypeName(dtype) << " x = " << x;
      if (dtype == DType::kNF4) {
        EXPECT_EQ(got.code, want.code) << x;
      } else {
        // The code is the level's (either zero's sign matches x's).
        EXPECT_EQ(DecodeMiniFloat(f.minifloat, f.bits, got.code), got.level);
        if (got.level == 0) {
          EXPECT_EQ(std::signbit(got.level), std::signbit(x)) << x;
        }
        // Clipped when rounding without saturation would pass the largest
        // value: beyond the midpoint to the next binade's first step, or on
        // it when that step is the even one (E5M2, E2M1; E4M3FN's 448 is).
        const double a = std::fabs(x);
        const double midpoint = dtype == DType::kFloat8E4M3FN ? 464 : dtype == DType::kFloat8E5M2 ? 61440 : 7;
        const bool tie_rounds_up = dtype != DType::kFloat8E4M3FN;
        EXPECT_EQ(got.clipped, a > midpoint || (a == midpoint && tie_rounds_up)) << x;
      }
    }
  }
}

TEST(FormatsTest, Float16AndBFloat16TargetsAreTheIeeeCasts) {
  const ElementFormat& half = Format(DType::kFloat16);
  const ElementFormat& bf16 = Format(DType::kBFloat16);
  SlotQuantizer qh{&half}, qb{&bf16};
  uint32_t state = 12345;
  for (int n = 0; n < 200000; ++n) {
    state = state * 1664525u + 1013904223u;
    float x = std::bit_cast<float>(state);
    if (!std::isfinite(x)) continue;
    const QuantizedValue h = QuantizeValue(qh, x, 0.0f);
    const uint16_t want_h = FloatToHalfBits(x);
    if (std::fabs(x) < 65520.0f) {  // Below the rounding edge of 65504.
      EXPECT_EQ(h.code, want_h) << x;
      EXPECT_FALSE(h.clipped);
    } else {
      EXPECT_EQ(h.level, std::copysign(65504.0f, x)) << x;
      EXPECT_TRUE(h.clipped);
    }
    const QuantizedValue b = QuantizeValue(qb, x, 0.0f);
    const uint16_t want_b = FloatToBFloat16Bits(x);
    if (std::isfinite(BFloat16BitsToFloat(want_b))) {
      EXPECT_EQ(b.code, want_b) << x;
    } else {
      EXPECT_EQ(b.code, (want_b & 0x8000u) | 0x7f7fu) << x;  // Saturated.
      EXPECT_TRUE(b.clipped);
    }
  }
}

std::vector<uint8_t> QuantizedBytes(const std::vector<float>& values, DType dtype) {
  const auto x = Float32Tensor({static_cast<int64_t>(values.size())}, values);
  QuantizeOptions o;
  o.params = QuantParams{.dtype = dtype, .scheme = Scheme::kSymmetric, .scales = {1.0f}};
  const auto q = Quantize(x.view(), o);
  EXPECT_TRUE(q.ok()) << q.status();
  return q.ok() ? As<uint8_t>(q->data) : std::vector<uint8_t>{};
}

TEST(FormatsTest, PackingOrderFollowsTheApi) {
  // INT4: element 2i in bits 0-3, two's complement; the tail byte padded.
  EXPECT_EQ(QuantizedBytes({1, -2, 3}, DType::kInt4), (std::vector<uint8_t>{0xe1, 0x03}));
  EXPECT_EQ(QuantizedBytes({15, 0, 7}, DType::kUInt4), (std::vector<uint8_t>{0x0f, 0x07}));
  // TERNARY: four 2-bit codes a byte: 1 -> 01, 0 -> 00, -1 -> 11.
  EXPECT_EQ(QuantizedBytes({1, 0, -1, 1, -1}, DType::kTernary),
            (std::vector<uint8_t>{0x71, 0x03}));
  // BINARY: bit set for x >= 0.
  EXPECT_EQ(QuantizedBytes({1, -1, -1, 0, 2, 3, 4, 5, -1}, DType::kBinary),
            (std::vector<uint8_t>{0xf9, 0x00}));
  // NF4 code 15 (1.0) and code 0 (-1.0).
  EXPECT_EQ(QuantizedBytes({1, -1}, DType::kNF4), (std::vector<uint8_t>{0x0f}));
  // FP4 E2M1: 6 = 0b0111, -0.5 = 0b1001.
  EXPECT_EQ(QuantizedBytes({6, -0.5f, 0}, DType::kFloat4E2M1), (std::vector<uint8_t>{0x97, 0x00}));
}

TEST(FormatsTest, EverySubByteFormatRoundTripsThroughDequantize) {
  std::vector<float> values;
  for (int i = 0; i < 1001; ++i) values.push_back(std::sin(i * 0.37f) * 3.0f);
  const auto x = Float32Tensor({7, 143}, values);
  for (DType dtype : {DType::kInt4, DType::kUInt4, DType::kNF4, DType::kFloat4E2M1,
                      DType::kTernary, DType::kBinary, DType::kFloat8E4M3FN, DType::kFloat8E5M2,
                      DType::kLut4, DType::kLut8, DType::kFloat16, DType::kBFloat16}) {
    for (Granularity g : {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
      QuantizeOptions o;
      o.dtype = dtype;
      o.granularity = g;
      o.axis = g == Granularity::kPerChannel ? 0 : 1;
      o.group_size = 32;
      o.return_dequantized = true;
      const auto q = Quantize(x.view(), o);
      ASSERT_TRUE(q.ok()) << DTypeName(dtype) << " " << q.status();
      const TensorView codes{dtype, x.shape, q->data};
      const auto y = Dequantize(codes, q->result.params, DType::kFloat32);
      ASSERT_TRUE(y.ok()) << DTypeName(dtype) << " " << y.status();
      EXPECT_EQ(*y, q->dequantized) << DTypeName(dtype) << " " << GranularityName(g);
      EXPECT_EQ(q->result.error.count, 1001);
      EXPECT_GT(q->result.error.sqnr_db, dtype == DType::kBinary ? 0.0 : 5.0) << DTypeName(dtype);
    }
  }
}

}  // namespace
}  // namespace quantd
