// One value through one parameter slot's quantizer, for every format: the
// scalar statement of the mapping (API.md, "Mapping") that the reference
// kernels and the range search share.
#ifndef QUANTD_FORMATS_SCALAR_QUANTIZER_H_
#define QUANTD_FORMATS_SCALAR_QUANTIZER_H_

#include <cstdint>

#include "formats/element_format.h"
#include "quantd/quant_params.h"

namespace quantd {

struct SlotQuantizer {
  const ElementFormat* format = nullptr;
  float qmin = 0;  // Integer formats.
  float qmax = 0;
  float zero_point = 0;
  // Codebook formats: the ascending levels and the codebook_size - 1
  // decision boundaries between neighbours, (level[k] + level[k+1]) / 2.
  const float* levels = nullptr;
  const float* boundaries = nullptr;
  Rounding rounding = Rounding::kHalfToEven;
};

struct QuantizedValue {
  uint32_t code = 0;     // The stored bits.
  float level = 0;       // x' / scale.
  bool clipped = false;  // v lay beyond the format's range.
};

// Quantizes v = x / scale. `u` is the stochastic rounding's uniform number
// (ignored by the other modes).
QuantizedValue QuantizeValue(const SlotQuantizer& quantizer, float v, float u);

// x' / scale of a stored code.
float LevelOfCode(const ElementFormat& format, uint32_t code, float zero_point,
                  const float* levels);

// The decision boundaries of `count` ascending levels, into boundaries[0..count-2].
void CodebookBoundaries(const float* levels, int count, float* boundaries);

}  // namespace quantd

#endif  // QUANTD_FORMATS_SCALAR_QUANTIZER_H_
