// Scale and zero point from a range, as PyTorch's observers compute them.
#include "ops/scale_selection.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "formats/scale_format.h"

namespace quantd {

ScaleRule ScaleRuleOf(const QuantParams& target, const ElementFormat& format, int32_t qmin,
                      int32_t qmax) {
  ScaleRule rule;
  rule.scheme = target.scheme;
  rule.limit = SymmetricLimit(format, target.full_range);
  rule.qmin = qmin;
  rule.qmax = qmax;
  rule.scale_dtype = target.scale_dtype;
  return rule;
}

ScaleZeroPoint ChooseScaleZeroPoint(float lo, float hi, const ScaleRule& rule) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const bool symmetric = rule.scheme == Scheme::kSymmetric;
  ScaleZeroPoint result;
  if (lo == 0 && hi == 0) {
    result.scale = 1;
    result.zero_point = symmetric ? 0 : rule.qmin;
    return result;
  }
  if (symmetric) {
    const float amax = std::max(-lo, hi);
    if (rule.scale_dtype == DType::kE8M0) {
      result.scale = E8M0BlockScale(amax, rule.limit);
      return result;
    }
    result.scale = amax / rule.limit;
  } else {
    const float levels = static_cast<float>(rule.qmax - rule.qmin);
    result.scale = (hi - lo) / levels;
    if (!std::isfinite(result.scale)) {
      // hi - lo overflowed float32; the quotient itself is representable.
      result.scale = static_cast<float>((static_cast<double>(hi) - lo) / levels);
    }
  }
  result.scale = RoundScale(rule.scale_dtype, std::max(result.scale, FLT_MIN));
  if (!symmetric) {
    const float shift = std::nearbyint(lo / result.scale);
    const float zp = std::clamp(static_cast<float>(rule.qmin) - shift,
                                static_cast<float>(rule.qmin), static_cast<float>(rule.qmax));
    result.zero_point = static_cast<int32_t>(zp);
  }
  return result;
}

}  // namespace quantd
