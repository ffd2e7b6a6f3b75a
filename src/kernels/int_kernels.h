// The integer quantization kernels' shared interface: argument structs and
// the table of one ISA's kernels. Plain data and declarations only: this
// header is included by files compiled with different ISA flags, and an
// inline function here would be compiled once per flag set and merged by the
// linker into whichever copy it picks (an ODR violation that crashes older
// CPUs with illegal instructions).
#ifndef QUANTD_KERNELS_INT_KERNELS_H_
#define QUANTD_KERNELS_INT_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "quantd/dtype.h"
#include "quantd/error_stats.h"
#include "quantd/isa.h"
#include "quantd/quant_params.h"

namespace quantd {

// A float tensor's bytes: FLOAT32, FLOAT16, BFLOAT16 or FLOAT64, any
// alignment. Quantization sees each element as float32 (FLOAT64 narrowed).
struct FloatSource {
  DType dtype = DType::kFloat32;
  const std::byte* data = nullptr;
};

// A run of `count` consecutive elements from flat index `start`. With
// stride 0 they all belong to channel `channel`; with stride 1 element k
// belongs to channel `channel + k` (a channel axis that is the last one).
struct ChannelSpan {
  int64_t start = 0;
  int64_t count = 0;
  int64_t channel = 0;
  int64_t stride = 0;
};

// Per-channel parameters, indexed by channel.
struct IntChannelParams {
  const float* scales = nullptr;
  const float* inv_scales = nullptr;     // 1.0f / scales[c], in float32.
  const float* zero_points = nullptr;    // As floats (exact); nullptr: all zero.
};

struct IntQuantizeArgs {
  FloatSource src;
  DType dst_dtype = DType::kInt8;  // INT8 or UINT8.
  std::byte* dst = nullptr;
  // Optional: x' written in `deq_dtype` (the input's dtype).
  DType deq_dtype = DType::kFloat32;
  std::byte* deq = nullptr;
  IntChannelParams params;
  float qmin = 0;
  float qmax = 0;
  Rounding rounding = Rounding::kHalfToEven;  // HALF_TO_EVEN, HALF_AWAY_FROM_ZERO or FLOOR.
};

struct IntDequantizeArgs {
  DType src_dtype = DType::kInt8;  // INT8 or UINT8.
  const std::byte* src = nullptr;
  DType dst_dtype = DType::kFloat32;  // FLOAT32, FLOAT16 or BFLOAT16.
  std::byte* dst = nullptr;
  IntChannelParams params;  // inv_scales unused.
};

// One ISA's kernels. Each handles one span; the caller splits a tensor into
// spans by its channel layout.
struct IntKernelTable {
  Isa isa = Isa::kScalar;
  // Folds the span's values into mins[c] and maxs[c]. Returns the flat index
  // of the first element that is not a finite float32, or -1.
  int64_t (*min_max)(FloatSource src, ChannelSpan span, float* mins, float* maxs);
  // q = clamp(round(x * inv_scale) + zero_point, qmin, qmax); adds the error
  // of x (exact, as double) against x' = (q - zero_point) * scale to sums.
  // Returns -1, or the flat index of the first element that is not a finite
  // float32 (the span's outputs and sums are then incomplete), so that with
  // given parameters one pass both checks and quantizes.
  int64_t (*quantize)(const IntQuantizeArgs& args, ChannelSpan span, ErrorSums* sums);
  // x' = (q - zero_point) * scale in float32.
  void (*dequantize)(const IntDequantizeArgs& args, ChannelSpan span);
};

// The part of `span` after its first `done` elements.
ChannelSpan SpanTail(ChannelSpan span, int64_t done);

// The scalar reference: the readable statement of the math and the oracle
// that every SIMD table is tested against, bit-exact for integer outputs.
const IntKernelTable& IntKernelsReference();
// Null when the build has no such path.
const IntKernelTable* IntKernelsAvx2();
const IntKernelTable* IntKernelsAvx512();

// The best table built, supported by this CPU, and at most `max_isa`.
const IntKernelTable& SelectIntKernels(Isa max_isa);

}  // namespace quantd

#endif  // QUANTD_KERNELS_INT_KERNELS_H_
