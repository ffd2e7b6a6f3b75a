// Scalar encoding and decoding of small floats (FP8, FP4, FLOAT16, BFLOAT16)
// by their layout: the readable definition that the SIMD casts are tested
// against.
#ifndef QUANTD_FORMATS_MINIFLOAT_H_
#define QUANTD_FORMATS_MINIFLOAT_H_

#include <cstdint>

#include "formats/element_format.h"

namespace quantd {

// The value of `code` (the low `bits` bits): NaN and infinities where the
// layout has them.
float DecodeMiniFloat(const MiniFloatLayout& layout, int bits, uint32_t code);

struct MiniFloatCode {
  uint32_t code = 0;
  float value = 0;       // The code's value.
  bool clipped = false;  // The rounded magnitude exceeded max_finite.
};

// Rounds `v` onto the format's grid and saturates to its largest finite
// value (an infinite v, a scaled value that overflowed float, saturates). `round_to_integer` rounds v / quantum, where quantum is the
// spacing of representable values in v's binade (never below the subnormal
// spacing); v / quantum is exact because quantum is a power of two. With
// half-to-even this is the IEEE cast; with floor or stochastic rounding it
// is their float analogue. The sign of zero is kept.
template <typename RoundToInteger>
MiniFloatCode EncodeMiniFloat(const MiniFloatLayout& layout, int bits, float v,
                              RoundToInteger round_to_integer);

// The exponent of the smallest normal number: 1 - bias.
inline int MiniFloatMinExponent(const MiniFloatLayout& layout) {
  return 1 - layout.exponent_bias;
}

// Builds the code of a representable, finite, non-negative magnitude.
uint32_t MiniFloatMagnitudeCode(const MiniFloatLayout& layout, float magnitude);

}  // namespace quantd

#include <cmath>

namespace quantd {

template <typename RoundToInteger>
MiniFloatCode EncodeMiniFloat(const MiniFloatLayout& layout, int bits, float v,
                              RoundToInteger round_to_integer) {
  const bool negative = std::signbit(v);
  const float a = std::fabs(v);
  MiniFloatCode result;
  // Infinity has no binade to round in (ilogb, and so the quantum, would
  // be meaningless): it is beyond the largest value.
  float magnitude = a;
  if (!std::isinf(a)) {
    const int min_exponent = MiniFloatMinExponent(layout);
    int exponent = a > 0 ? std::ilogb(a) : min_exponent;
    if (exponent < min_exponent) exponent = min_exponent;
    const float quantum = std::ldexp(1.0f, exponent - layout.mantissa_bits);
    // Rounding the signed quotient keeps FLOOR a floor towards -inf.
    const float n = round_to_integer(v / quantum);
    magnitude = std::fabs(n) * quantum;  // May carry into the next binade.
  }
  if (magnitude > layout.max_finite) {
    result.clipped = true;
    magnitude = layout.max_finite;
  }
  const uint32_t sign = negative ? uint32_t{1} << (bits - 1) : 0;
  result.code = sign | MiniFloatMagnitudeCode(layout, magnitude);
  result.value = negative ? -magnitude : magnitude;
  return result;
}

}  // namespace quantd

#endif  // QUANTD_FORMATS_MINIFLOAT_H_
