// Scalar reference kernels for every format. Naive on purpose: they are the
// oracle.
#include <algorithm>
#include <cmath>

#include "formats/element_io.h"
#include "formats/packing.h"
#include "formats/rounding.h"
#include "formats/scalar_quantizer.h"
#include "kernels/kernels.h"

namespace quantd {
namespace {

// The slot of the span's k-th element.
int64_t SlotOf(SlotSpan span, int64_t k) {
  return span.group > 0 ? span.slot + k / span.group : span.slot + k * span.stride;
}

int64_t MinMax(FloatSource src, SlotSpan span, float* mins, float* maxs) {
  for (int64_t k = 0; k < span.count; ++k) {
    const int64_t i = span.start + k;
    const float x = static_cast<float>(LoadFloatElement(src.dtype, src.data, i));
    if (!std::isfinite(x)) return i;
    const int64_t c = SlotOf(span, k);
    if (x < mins[c]) mins[c] = x;
    if (x > maxs[c]) maxs[c] = x;
  }
  return -1;
}

SlotQuantizer QuantizerOf(const QuantizeArgs& args, int64_t c) {
  SlotQuantizer q;
  q.format = args.format;
  q.qmin = args.qmin;
  q.qmax = args.qmax;
  q.zero_point = args.params.zero_points ? args.params.zero_points[c] : 0.0f;
  if (args.params.levels != nullptr) {
    q.levels = args.params.levels + c * args.params.levels_stride;
    q.boundaries = args.params.boundaries + c * args.params.levels_stride;
  }
  q.rounding = args.rounding;
  return q;
}

int64_t Quantize(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const bool stochastic = args.rounding == Rounding::kStochastic;
  for (int64_t k = 0; k < span.count; ++k) {
    const int64_t i = span.start + k;
    const int64_t c = SlotOf(span, k);
    const double x = LoadFloatElement(args.src.dtype, args.src.data, i);
    if (!std::isfinite(static_cast<float>(x))) return i;
    const float v = static_cast<float>(x) * args.params.inv_scales[c];
    const float u = stochastic ? StochasticUniform(args.seed, args.index_base + i) : 0.0f;
    const QuantizedValue q = QuantizeValue(QuantizerOf(args, c), v, u);
    if (q.clipped) ++sums->clipped;
    StoreCode(args.format->bits, args.dst, i, q.code);
    const float y = q.level * args.params.scales[c];
    if (args.deq != nullptr) StoreFloatElement(args.deq_dtype, args.deq, i, y);
    sums->Add(x, y);
  }
  return -1;
}

void Dequantize(const DequantizeArgs& args, SlotSpan span) {
  for (int64_t k = 0; k < span.count; ++k) {
    const int64_t i = span.start + k;
    const int64_t c = SlotOf(span, k);
    const float zero_point = args.params.zero_points ? args.params.zero_points[c] : 0.0f;
    const float* levels =
        args.params.levels ? args.params.levels + c * args.params.levels_stride : nullptr;
    const uint32_t code = LoadCode(args.format->bits, args.src, i);
    StoreFloatElement(args.dst_dtype, args.dst, i,
                      LevelOfCode(*args.format, code, zero_point, levels) * args.params.scales[c]);
  }
}

int64_t Histogram(const HistogramArgs& args, SlotSpan span, HistogramSeen* seen) {
  for (int64_t k = 0; k < span.count; ++k) {
    const float x = static_cast<float>(LoadFloatElement(args.src.dtype, args.src.data, span.start + k));
    if (!std::isfinite(x)) return span.start + k;
    const float magnitude = std::fabs(x);
    if (magnitude > args.upper) {
      seen->beyond = true;
    } else if (magnitude > args.lower) {
      ++args.counts[HistogramBin(x, args.scale, args.half)];
    }
    seen->lo = std::min(seen->lo, x);
    seen->hi = std::max(seen->hi, x);
  }
  return -1;
}

}  // namespace

SlotSpan SpanTail(SlotSpan span, int64_t done) {
  const int64_t slot = span.group > 0 ? span.slot + done / span.group : span.slot + done * span.stride;
  return SlotSpan{span.start + done, span.count - done, slot, span.stride, span.group};
}

int64_t HistogramBin(float x, float scale, int64_t half) {
  const float v = x * scale;
  const int64_t t = static_cast<int64_t>(v);
  int64_t floor = t - (v < static_cast<float>(t));
  if (x < 0 && v == 0) floor = -1;
  return std::min(half + floor, 2 * half - 1);
}

const KernelTable& KernelsReference() {
  static const KernelTable table{Isa::kScalar, &MinMax, &Quantize, &Dequantize, &Histogram};
  return table;
}

}  // namespace quantd
