// Small floats by their layout.
#include "formats/minifloat.h"

#include <cmath>
#include <limits>

namespace quantd {

float DecodeMiniFloat(const MiniFloatLayout& layout, int bits, uint32_t code) {
  const uint32_t mantissa_mask = (uint32_t{1} << layout.mantissa_bits) - 1;
  const uint32_t exponent_mask = (uint32_t{1} << layout.exponent_bits) - 1;
  const bool negative = (code >> (bits - 1)) & 1;
  const uint32_t exponent = (code >> layout.mantissa_bits) & exponent_mask;
  const uint32_t mantissa = code & mantissa_mask;
  float magnitude;
  if (layout.has_infinity && exponent == exponent_mask) {
    magnitude = mantissa == 0 ? std::numeric_limits<float>::infinity()
                              : std::numeric_limits<float>::quiet_NaN();
  } else if (layout.nan_is_all_ones && exponent == exponent_mask &&
             mantissa == mantissa_mask) {
    magnitude = std::numeric_limits<float>::quiet_NaN();
  } else if (exponent == 0) {
    // Subnormal: mantissa * 2^(min_exponent - mantissa_bits).
    magnitude = std::ldexp(static_cast<float>(mantissa),
                           MiniFloatMinExponent(layout) - layout.mantissa_bits);
  } else {
    magnitude = std::ldexp(1.0f + std::ldexp(static_cast<float>(mantissa), -layout.mantissa_bits),
                           static_cast<int>(exponent) - layout.exponent_bias);
  }
  return negative ? -magnitude : magnitude;
}

uint32_t MiniFloatMagnitudeCode(const MiniFloatLayout& layout, float magnitude) {
  if (magnitude == 0) return 0;
  const int min_exponent = MiniFloatMinExponent(layout);
  const int exponent = std::ilogb(magnitude);
  if (exponent < min_exponent) {
    return static_cast<uint32_t>(
        std::ldexp(magnitude, layout.mantissa_bits - min_exponent));
  }
  const uint32_t mantissa = static_cast<uint32_t>(
      std::ldexp(magnitude, layout.mantissa_bits - exponent)) - (uint32_t{1} << layout.mantissa_bits);
  return (static_cast<uint32_t>(exponent + layout.exponent_bias) << layout.mantissa_bits) | mantissa;
}

}  // namespace quantd
