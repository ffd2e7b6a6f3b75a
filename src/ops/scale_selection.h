// From a clipping range [lo, hi] to a scale and zero point (API.md, "From a
// range to scale and zero point"). All arithmetic in float32.
#ifndef QUANTD_OPS_SCALE_SELECTION_H_
#define QUANTD_OPS_SCALE_SELECTION_H_

#include <cstdint>

#include "formats/element_format.h"
#include "quantd/dtype.h"
#include "quantd/quant_params.h"

namespace quantd {

// What a target needs of a range.
struct ScaleRule {
  Scheme scheme = Scheme::kSymmetric;
  float limit = 127;  // SymmetricLimit of the format: what amax maps onto.
  int32_t qmin = -127;  // Integer formats, for ASYMMETRIC.
  int32_t qmax = 127;
  DType scale_dtype = DType::kFloat32;
};

// The rule of a resolved target (scheme, full_range, scale_dtype set) of
// `format`; qmin and qmax are its integer range (unused by other formats).
ScaleRule ScaleRuleOf(const QuantParams& target, const ElementFormat& format, int32_t qmin,
                      int32_t qmax);

struct ScaleZeroPoint {
  float scale = 1;
  int32_t zero_point = 0;
};

// The range is widened to include 0 so that 0 is exact. A zero range gives
// scale 1; any other scale is at least FLT_MIN and always finite, and is
// rounded to the scale dtype (E8M0: the OCP MX block scale) before the zero
// point is derived from it.
ScaleZeroPoint ChooseScaleZeroPoint(float lo, float hi, const ScaleRule& rule);

}  // namespace quantd

#endif  // QUANTD_OPS_SCALE_SELECTION_H_
