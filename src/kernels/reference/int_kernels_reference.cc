// Scalar reference kernels for integer quantization. Naive on purpose: they
// are the oracle.
#include <cmath>

#include "formats/element_io.h"
#include "kernels/int_kernels.h"

namespace quantd {
namespace {

float Round(float v, Rounding rounding) {
  switch (rounding) {
    case Rounding::kHalfAwayFromZero: return std::round(v);
    case Rounding::kFloor: return std::floor(v);
    default: return std::nearbyint(v);  // Half to even in the default mode.
  }
}

int64_t MinMax(FloatSource src, ChannelSpan span, float* mins, float* maxs) {
  for (int64_t k = 0; k < span.count; ++k) {
    const int64_t i = span.start + k;
    const float x = static_cast<float>(LoadFloatElement(src.dtype, src.data, i));
    if (!std::isfinite(x)) return i;
    const int64_t c = span.channel + k * span.stride;
    if (x < mins[c]) mins[c] = x;
    if (x > maxs[c]) maxs[c] = x;
  }
  return -1;
}

int64_t Quantize(const IntQuantizeArgs& args, ChannelSpan span, ErrorSums* sums) {
  for (int64_t k = 0; k < span.count; ++k) {
    const int64_t i = span.start + k;
    const int64_t c = span.channel + k * span.stride;
    const float zero_point = args.params.zero_points ? args.params.zero_points[c] : 0.0f;
    const double x = LoadFloatElement(args.src.dtype, args.src.data, i);
    if (!std::isfinite(static_cast<float>(x))) return i;
    const float v = static_cast<float>(x) * args.params.inv_scales[c];
    float q = Round(v, args.rounding) + zero_point;
    if (q < args.qmin || q > args.qmax) {
      ++sums->clipped;
      q = q < args.qmin ? args.qmin : args.qmax;
    }
    const int32_t qi = static_cast<int32_t>(q);
    if (args.dst_dtype == DType::kInt8) {
      StoreUnaligned<int8_t>(args.dst + i, static_cast<int8_t>(qi));
    } else {
      StoreUnaligned<uint8_t>(args.dst + i, static_cast<uint8_t>(qi));
    }
    const float y = static_cast<float>(qi - static_cast<int32_t>(zero_point)) * args.params.scales[c];
    if (args.deq != nullptr) StoreFloatElement(args.deq_dtype, args.deq, i, y);
    sums->Add(x, y);
  }
  return -1;
}

void Dequantize(const IntDequantizeArgs& args, ChannelSpan span) {
  for (int64_t k = 0; k < span.count; ++k) {
    const int64_t i = span.start + k;
    const int64_t c = span.channel + k * span.stride;
    const int32_t zero_point =
        args.params.zero_points ? static_cast<int32_t>(args.params.zero_points[c]) : 0;
    const int32_t q = args.src_dtype == DType::kInt8
                          ? static_cast<int32_t>(LoadUnaligned<int8_t>(args.src + i))
                          : static_cast<int32_t>(LoadUnaligned<uint8_t>(args.src + i));
    StoreFloatElement(args.dst_dtype, args.dst, i,
                      static_cast<float>(q - zero_point) * args.params.scales[c]);
  }
}

}  // namespace

ChannelSpan SpanTail(ChannelSpan span, int64_t done) {
  return ChannelSpan{span.start + done, span.count - done, span.channel + done * span.stride,
                     span.stride};
}

const IntKernelTable& IntKernelsReference() {
  static const IntKernelTable table{Isa::kScalar, &MinMax, &Quantize, &Dequantize};
  return table;
}

}  // namespace quantd
