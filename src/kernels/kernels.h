// The quantization kernels' shared interface: argument structs and the
// table of one ISA's kernels. Plain data and declarations only: this header
// is included by files compiled with different ISA flags, and an inline
// function here would be compiled once per flag set and merged by the linker
// into whichever copy it picks (an ODR violation that crashes older CPUs
// with illegal instructions).
#ifndef QUANTD_KERNELS_KERNELS_H_
#define QUANTD_KERNELS_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "formats/element_format.h"
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
// stride 0 they all belong to parameter slot `slot`; with stride 1 element
// k belongs to slot `slot + k`. With group > 0 (stride 0; quantize and
// dequantize: ForEachKernelSpan in slot_spans.h) a run of whole groups:
// element k belongs to slot `slot + k / group`, and count is a multiple of
// group, itself a multiple of 16.
struct SlotSpan {
  int64_t start = 0;
  int64_t count = 0;
  int64_t slot = 0;
  int64_t stride = 0;
  int64_t group = 0;
};

// Per-slot parameters, indexed by slot.
struct SlotParams {
  const float* scales = nullptr;
  const float* inv_scales = nullptr;   // 1.0f / scales[c], in float32.
  const float* zero_points = nullptr;  // As floats (exact); nullptr: all zero.
  // Codebook formats: slot c's levels and decision boundaries start at
  // c * levels_stride; with levels_stride 0 one table serves every slot.
  const float* levels = nullptr;
  const float* boundaries = nullptr;
  int64_t levels_stride = 0;
};

struct QuantizeArgs {
  FloatSource src;
  const ElementFormat* format = nullptr;  // The target.
  std::byte* dst = nullptr;               // Packed codes, flat index order.
  // Optional: x' written in `deq_dtype` (the input's dtype).
  DType deq_dtype = DType::kFloat32;
  std::byte* deq = nullptr;
  SlotParams params;
  float qmin = 0;  // Integer formats.
  float qmax = 0;
  Rounding rounding = Rounding::kHalfToEven;
  uint64_t seed = 0;  // STOCHASTIC.
  // The tensor index of the data's element 0, when the data are a slice:
  // stochastic rounding draws by the element's index in the whole tensor.
  int64_t index_base = 0;
};

struct DequantizeArgs {
  const ElementFormat* format = nullptr;  // The input's format.
  const std::byte* src = nullptr;
  DType dst_dtype = DType::kFloat32;  // FLOAT32, FLOAT16 or BFLOAT16.
  std::byte* dst = nullptr;
  SlotParams params;  // inv_scales and boundaries unused.
};

// Histogram binning of one slot's span (stride 0) into FineHistogram's
// bins of a power-of-two width: each x with lower < |x| <= upper adds 1 to
// counts[HistogramBin(x, scale, half)]; every x is folded into `seen`.
struct HistogramArgs {
  FloatSource src;
  float lower = -1;  // -1: from zero on.
  float upper = -1;  // -1: nothing is counted.
  float scale = 0;   // x * scale is x / width, exactly.
  int64_t half = 0;  // Half the bin count.
  int64_t* counts = nullptr;
};
struct HistogramSeen {
  float lo = __builtin_inff();
  float hi = -__builtin_inff();
  bool beyond = false;  // Some finite |x| > upper.
};

// min(half + floor(x * scale), 2 half - 1): the bin of x (x == upper lands
// in the last bin); a negative x whose product underflows to -0 lies just
// below zero, in bin half - 1. Defined with the reference kernels.
int64_t HistogramBin(float x, float scale, int64_t half);

// One ISA's kernels. Each handles one span; the caller splits a tensor into
// spans by its slot layout. A SIMD kernel hands what it does not cover
// (formats, roundings, FLOAT64, tails) to the reference.
struct KernelTable {
  Isa isa = Isa::kScalar;
  // Folds the span's values into mins[c] and maxs[c]. Returns the flat index
  // of the first element that is not a finite float32, or -1.
  int64_t (*min_max)(FloatSource src, SlotSpan span, float* mins, float* maxs);
  // Quantizes x / scale as API.md's Mapping says and adds the error of x
  // against x' to sums: the reference in double, the SIMD kernels within
  // 2e-6 of it, with the same count, clipped count and maximum. Returns
  // -1, or the flat index of the first element that is not a finite
  // float32 (the span's outputs and sums are then incomplete), so that with
  // given parameters one pass both checks and quantizes. Sub-byte codes are
  // written with their neighbours in the same byte kept.
  int64_t (*quantize)(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums);
  // x' = level(code) * scale in float32.
  void (*dequantize)(const DequantizeArgs& args, SlotSpan span);
  // Bins a span of one slot (HistogramArgs). Returns -1, or the flat index
  // of the first element that is not a finite float32 (the counts are then
  // incomplete).
  int64_t (*histogram)(const HistogramArgs& args, SlotSpan span, HistogramSeen* seen);
};

// The part of `span` after its first `done` elements (whole groups, in a
// run of groups).
SlotSpan SpanTail(SlotSpan span, int64_t done);

// The scalar reference: the readable statement of the math and the oracle
// that every SIMD table is tested against, bit-exact for integer outputs.
const KernelTable& KernelsReference();
// Null when the build has no such path.
const KernelTable* KernelsAvx2();
const KernelTable* KernelsAvx512();

// The highest level this CPU runs, at most `max_isa` and at most the
// QUANTD_ISA environment variable's level (tests and benchmarks force paths
// with it).
Isa AllowedIsa(Isa max_isa);

// The best table built, supported by this CPU, and at most `max_isa`.
const KernelTable& SelectKernels(Isa max_isa);

}  // namespace quantd

#endif  // QUANTD_KERNELS_KERNELS_H_
