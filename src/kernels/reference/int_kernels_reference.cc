// Scalar reference kernels for integer quantization. Naive on purpose: they
// are the oracle.
#include "kernels/reference/int_kernels_reference.h"

#include <cmath>

#include "formats/element_io.h"

namespace quantd {
namespace {

float LoadAsFloat(FloatSource src, int64_t i) {
  return static_cast<float>(LoadFloatElement(src.dtype, src.data, i));
}

float RoundReference(float v, Rounding rounding) {
  switch (rounding) {
    case Rounding::kHalfAwayFromZero: return std::round(v);
    case Rounding::kFloor: return std::floor(v);
    default: return std::nearbyint(v);  // Half to even in the default mode.
  }
}

int32_t LoadInt(DType dtype, const std::byte* data, int64_t i) {
  return dtype == DType::kInt8 ? static_cast<int32_t>(LoadUnaligned<int8_t>(data + i))
                               : static_cast<int32_t>(LoadUnaligned<uint8_t>(data + i));
}

}  // namespace

int64_t MinMaxReference(FloatSource src, const ChannelLayout& layout,
                        int64_t begin, int64_t end, float* mins, float* maxs) {
  for (int64_t i = begin; i < end; ++i) {
    const float x = LoadAsFloat(src, i);
    if (!std::isfinite(x)) return i;
    const int64_t c = layout.ChannelOf(i);
    if (x < mins[c]) mins[c] = x;
    if (x > maxs[c]) maxs[c] = x;
  }
  return -1;
}

ErrorSums QuantizeIntReference(const IntQuantizeArgs& args, int64_t begin,
                               int64_t end) {
  ErrorSums sums;
  const float qmin = static_cast<float>(args.qmin);
  const float qmax = static_cast<float>(args.qmax);
  for (int64_t i = begin; i < end; ++i) {
    const int64_t c = args.layout.ChannelOf(i);
    const int32_t zero_point = args.params.zero_points ? args.params.zero_points[c] : 0;
    const double x = LoadFloatElement(args.src.dtype, args.src.data, i);
    const float v = static_cast<float>(x) * args.params.inv_scales[c];
    float q = RoundReference(v, args.rounding) + static_cast<float>(zero_point);
    if (q < qmin || q > qmax) {
      ++sums.clipped;
      q = q < qmin ? qmin : qmax;
    }
    const int32_t qi = static_cast<int32_t>(q);
    if (args.dst_dtype == DType::kInt8) {
      StoreUnaligned<int8_t>(args.dst + i, static_cast<int8_t>(qi));
    } else {
      StoreUnaligned<uint8_t>(args.dst + i, static_cast<uint8_t>(qi));
    }
    const float y = static_cast<float>(qi - zero_point) * args.params.scales[c];
    if (args.deq != nullptr) StoreFloatElement(args.deq_dtype, args.deq, i, y);
    sums.Add(x, y);
  }
  return sums;
}

void DequantizeIntReference(const IntDequantizeArgs& args, int64_t begin,
                            int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const int64_t c = args.layout.ChannelOf(i);
    const int32_t zero_point = args.params.zero_points ? args.params.zero_points[c] : 0;
    const int32_t q = LoadInt(args.src_dtype, args.src, i);
    const float y = static_cast<float>(q - zero_point) * args.params.scales[c];
    StoreFloatElement(args.dst_dtype, args.dst, i, y);
  }
}

}  // namespace quantd
