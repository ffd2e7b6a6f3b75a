// From a clipping range [lo, hi] to a scale and zero point (API.md, "From a
// range to scale and zero point"). All arithmetic in float32.
#ifndef QUANTD_OPS_SCALE_SELECTION_H_
#define QUANTD_OPS_SCALE_SELECTION_H_

#include <cstdint>

#include "quantd/quant_params.h"

namespace quantd {

struct ScaleZeroPoint {
  float scale = 1;
  int32_t zero_point = 0;
};

// The range is widened to include 0 so that 0 is exact. A zero range gives
// scale 1; any other scale is at least FLT_MIN and always finite.
ScaleZeroPoint ChooseScaleZeroPoint(float lo, float hi, Scheme scheme,
                                    bool is_unsigned, bool full_range,
                                    int32_t qmin, int32_t qmax);

}  // namespace quantd

#endif  // QUANTD_OPS_SCALE_SELECTION_H_
