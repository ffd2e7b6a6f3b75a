// IEEE binary16 and bfloat16 conversions, scalar. Narrowing rounds to
// nearest even, overflows to infinity and keeps NaN a NaN, as a C cast or
// torch's .to() does.
#ifndef QUANTD_FORMATS_FLOAT16_H_
#define QUANTD_FORMATS_FLOAT16_H_

#include <bit>
#include <cstdint>

namespace quantd {

inline float HalfBitsToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) {  // Inf or NaN.
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  }
  if (exponent != 0) {
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
  // Zero or subnormal: mantissa * 2^-24, exact in float.
  const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
  return sign ? -magnitude : magnitude;
}

inline uint16_t FloatToHalfBits(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs_bits = bits & 0x7fffffffu;
  if (abs_bits > 0x7f800000u) {  // NaN: keep it quiet and non-zero.
    return static_cast<uint16_t>(sign | 0x7e00u | ((abs_bits >> 13) & 0x3ffu));
  }
  if (abs_bits >= 0x477ff000u) {  // >= 65520 rounds to infinity.
    return static_cast<uint16_t>(sign | 0x7c00u);
  }
  if (abs_bits < 0x38800000u) {  // Below 2^-14: subnormal or zero.
    // Scaling by 2^24 makes the subnormal's mantissa an integer; the float
    // addition rounds it to nearest even.
    const float scaled = std::bit_cast<float>(abs_bits) * 0x1p24f;
    const uint32_t m = static_cast<uint32_t>(__builtin_nearbyintf(scaled));
    return static_cast<uint16_t>(sign | m);  // m == 0x400 carries into the exponent.
  }
  // Normal: rebias the exponent and round the 13 dropped bits to even.
  const uint32_t rounded =
      abs_bits + 0x0fffu + ((abs_bits >> 13) & 1u) - (uint32_t{112} << 23);
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

inline float BFloat16BitsToFloat(uint16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

inline uint16_t FloatToBFloat16Bits(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {  // NaN: quiet, sign kept.
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  }
  const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

}  // namespace quantd

#endif  // QUANTD_FORMATS_FLOAT16_H_
