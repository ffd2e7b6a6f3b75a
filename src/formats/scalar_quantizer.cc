// The scalar mapping of every format.
#include "formats/scalar_quantizer.h"

#include <algorithm>
#include <cmath>

#include "formats/minifloat.h"
#include "formats/packing.h"
#include "formats/rounding.h"

namespace quantd {
namespace {

QuantizedValue QuantizeInteger(const SlotQuantizer& q, float v, float u) {
  QuantizedValue r;
  float level = RoundToInteger(v, q.rounding, u) + q.zero_point;
  if (level < q.qmin || level > q.qmax) {
    r.clipped = true;
    level = level < q.qmin ? q.qmin : q.qmax;
  }
  const int32_t code = static_cast<int32_t>(level);
  r.code = static_cast<uint32_t>(code) & ((1u << q.format->bits) - 1);
  r.level = static_cast<float>(code - static_cast<int32_t>(q.zero_point));
  return r;
}

// The nearest level; a value exactly on a boundary goes to the even code.
QuantizedValue QuantizeCodebook(const SlotQuantizer& q, float v) {
  const int n = q.format->codebook_size;
  const float* end = q.boundaries + (n - 1);
  const int k = static_cast<int>(std::lower_bound(q.boundaries, end, v) - q.boundaries);
  QuantizedValue r;
  r.code = k < n - 1 && q.boundaries[k] == v && k % 2 == 1 ? k + 1 : k;
  r.level = q.levels[r.code];
  // Beyond an end level by more than half its gap to the neighbour, as an
  // integer beyond qmax + 1/2.
  const float low_edge = q.levels[0] - (q.boundaries[0] - q.levels[0]);
  const float high_edge = q.levels[n - 1] + (q.levels[n - 1] - q.boundaries[n - 2]);
  r.clipped = v < low_edge || v > high_edge;
  return r;
}

}  // namespace

QuantizedValue QuantizeValue(const SlotQuantizer& quantizer, float v, float u) {
  const ElementFormat& format = *quantizer.format;
  switch (format.kind) {
    case ElementKind::kInteger:
      return QuantizeInteger(quantizer, v, u);
    case ElementKind::kMiniFloat: {
      const MiniFloatCode c = EncodeMiniFloat(
          format.minifloat, format.bits, v,
          [&](float w) { return RoundToInteger(w, quantizer.rounding, u); });
      return QuantizedValue{c.code, c.value, c.clipped};
    }
    case ElementKind::kCodebook:
      return QuantizeCodebook(quantizer, v);
    case ElementKind::kBinary: {
      const bool positive = v >= 0;  // -0 counts as x >= 0.
      return QuantizedValue{positive ? 1u : 0u, positive ? 1.0f : -1.0f, false};
    }
  }
  return {};
}

float LevelOfCode(const ElementFormat& format, uint32_t code, float zero_point,
                  const float* levels) {
  switch (format.kind) {
    case ElementKind::kInteger: {
      const int32_t q = format.is_signed ? SignExtend(code, format.bits)
                                         : static_cast<int32_t>(code);
      return static_cast<float>(q - static_cast<int32_t>(zero_point));
    }
    case ElementKind::kMiniFloat:
      return DecodeMiniFloat(format.minifloat, format.bits, code);
    case ElementKind::kCodebook:
      return levels[code];
    case ElementKind::kBinary:
      return code ? 1.0f : -1.0f;
  }
  return 0;
}

void CodebookBoundaries(const float* levels, int count, float* boundaries) {
  for (int k = 0; k + 1 < count; ++k) boundaries[k] = 0.5f * levels[k] + 0.5f * levels[k + 1];
}

}  // namespace quantd
