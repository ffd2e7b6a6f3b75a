// Scale and zero point from a range, as PyTorch's observers compute them.
#include "ops/scale_selection.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace quantd {

ScaleZeroPoint ChooseScaleZeroPoint(float lo, float hi, Scheme scheme,
                                    bool is_unsigned, bool full_range,
                                    int32_t qmin, int32_t qmax) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const bool symmetric = scheme == Scheme::kSymmetric;
  ScaleZeroPoint result;
  if (lo == 0 && hi == 0) {
    result.scale = 1;
    result.zero_point = symmetric ? 0 : qmin;
    return result;
  }
  if (symmetric) {
    const float amax = std::max(-lo, hi);
    // Signed full range spreads [-amax, amax] over all of [qmin, qmax], as
    // PyTorch's symmetric observers do; unsigned keeps zero at q = 0.
    const float denominator = (full_range && !is_unsigned)
                                  ? static_cast<float>(qmax - qmin) / 2.0f
                                  : static_cast<float>(qmax);
    result.scale = amax / denominator;
  } else {
    const float levels = static_cast<float>(qmax - qmin);
    result.scale = (hi - lo) / levels;
    if (!std::isfinite(result.scale)) {
      // hi - lo overflowed float32; the quotient itself is representable.
      result.scale = static_cast<float>((static_cast<double>(hi) - lo) / levels);
    }
  }
  result.scale = std::max(result.scale, FLT_MIN);
  if (!symmetric) {
    const float shift = std::nearbyint(lo / result.scale);
    const float zp = std::clamp(static_cast<float>(qmin) - shift,
                                static_cast<float>(qmin), static_cast<float>(qmax));
    result.zero_point = static_cast<int32_t>(zp);
  }
  return result;
}

}  // namespace quantd
