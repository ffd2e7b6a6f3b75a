// Scalar reference kernels for integer quantization: the readable statement
// of the math, and the oracle that every SIMD variant is tested against.
// Kernels do not validate; their callers pass checked arguments.
#ifndef QUANTD_KERNELS_REFERENCE_INT_KERNELS_REFERENCE_H_
#define QUANTD_KERNELS_REFERENCE_INT_KERNELS_REFERENCE_H_

#include <cstddef>
#include <cstdint>

#include "quantd/dtype.h"
#include "quantd/error_stats.h"
#include "quantd/layout.h"
#include "quantd/quant_params.h"

namespace quantd {

// A float tensor's elements [begin, end), read as float32 (FLOAT64 narrowed
// to float32 first, as quantization sees it).
struct FloatSource {
  DType dtype = DType::kFloat32;  // FLOAT32, FLOAT16, BFLOAT16 or FLOAT64.
  const std::byte* data = nullptr;
};

// Per-channel minimum and maximum of elements [begin, end), folded into
// mins[c] and maxs[c] (callers start them at +inf and -inf). Returns the
// flat index of the first element that is NaN or infinite as float32, or
// -1 when all are finite.
int64_t MinMaxReference(FloatSource src, const ChannelLayout& layout,
                        int64_t begin, int64_t end, float* mins, float* maxs);

// Per-channel quantization parameters as the kernels use them.
struct IntChannelParams {
  const float* scales = nullptr;
  const float* inv_scales = nullptr;     // 1.0f / scales[c], in float32.
  const int32_t* zero_points = nullptr;  // nullptr: all zero.
};

struct IntQuantizeArgs {
  FloatSource src;
  DType dst_dtype = DType::kInt8;  // INT8 or UINT8.
  std::byte* dst = nullptr;
  // Optional: x' written in `deq_dtype` (a float input dtype).
  DType deq_dtype = DType::kFloat32;
  std::byte* deq = nullptr;
  ChannelLayout layout;
  IntChannelParams params;
  int32_t qmin = 0;
  int32_t qmax = 0;
  Rounding rounding = Rounding::kHalfToEven;
};

// q = clamp(round(x * inv_scale) + zero_point, qmin, qmax) for elements
// [begin, end); returns the error sums of x against x' = (q - zp) * scale
// with x taken exactly (as double) from the input, and the clipped count.
// `rounding` is HALF_TO_EVEN, HALF_AWAY_FROM_ZERO or FLOOR.
ErrorSums QuantizeIntReference(const IntQuantizeArgs& args, int64_t begin,
                               int64_t end);

struct IntDequantizeArgs {
  DType src_dtype = DType::kInt8;  // INT8 or UINT8.
  const std::byte* src = nullptr;
  DType dst_dtype = DType::kFloat32;  // FLOAT32, FLOAT16 or BFLOAT16.
  std::byte* dst = nullptr;
  ChannelLayout layout;
  IntChannelParams params;  // inv_scales unused.
};

// x' = (q - zero_point) * scale in float32, for elements [begin, end).
void DequantizeIntReference(const IntDequantizeArgs& args, int64_t begin,
                            int64_t end);

}  // namespace quantd

#endif  // QUANTD_KERNELS_REFERENCE_INT_KERNELS_REFERENCE_H_
