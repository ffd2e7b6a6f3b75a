// Scale storage formats.
#include "formats/scale_format.h"

#include <algorithm>
#include <cmath>

#include "formats/float16.h"

namespace quantd {
namespace {

constexpr float kMinE8M0 = 0x1p-126f;
constexpr float kMaxE8M0 = 0x1p127f;

}  // namespace

int ScaleBits(DType scale_dtype) {
  switch (scale_dtype) {
    case DType::kFloat16: return 16;
    case DType::kE8M0: return 8;
    default: return 32;
  }
}

float RoundScale(DType scale_dtype, float scale) {
  switch (scale_dtype) {
    case DType::kFloat16:
      return std::clamp(HalfBitsToFloat(FloatToHalfBits(scale)), 0x1p-24f, 65504.0f);
    case DType::kE8M0:
      return std::clamp(std::ldexp(1.0f, std::ilogb(scale)), kMinE8M0, kMaxE8M0);
    default:
      return scale;
  }
}

bool IsScaleRepresentable(DType scale_dtype, float scale) {
  switch (scale_dtype) {
    case DType::kFloat16:
      return HalfBitsToFloat(FloatToHalfBits(scale)) == scale;
    case DType::kE8M0:
      return scale >= kMinE8M0 && scale <= kMaxE8M0 && std::ldexp(1.0f, std::ilogb(scale)) == scale;
    default:
      return true;
  }
}

float E8M0BlockScale(float amax, float limit) {
  if (!(amax > 0)) return 1.0f;
  const int emax = std::ilogb(limit);
  return std::clamp(std::ldexp(1.0f, std::ilogb(amax) - emax), kMinE8M0, kMaxE8M0);
}

}  // namespace quantd
