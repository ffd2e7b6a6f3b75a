// The AVX-512 kernels of the formats beyond INT8/UINT8, one file each;
// kernels_avx512.cc dispatches to them as simd_coverage.h says. Plain
// declarations: the definitions are compiled with AVX-512 flags, and run
// only once dispatch has found the CPU able.
#ifndef QUANTD_KERNELS_AVX512_FORMATS_AVX512_H_
#define QUANTD_KERNELS_AVX512_FORMATS_AVX512_H_

#include <cstdint>

#include "kernels/kernels.h"

namespace quantd {

// SimdFamily::kInt4: INT4, UINT4.
int64_t QuantizeInt4Avx512(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums);
void DequantizeInt4Avx512(const DequantizeArgs& args, SlotSpan span);

// SimdFamily::kMiniFloat: FLOAT8_E4M3FN, FLOAT8_E5M2, FLOAT16, BFLOAT16.
int64_t QuantizeMiniFloatAvx512(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums);
void DequantizeMiniFloatAvx512(const DequantizeArgs& args, SlotSpan span);

// SimdFamily::kNf4: NF4 with one table for every slot.
int64_t QuantizeNf4Avx512(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums);
void DequantizeNf4Avx512(const DequantizeArgs& args, SlotSpan span);

// Histogram binning for calibration (histogram_avx512.cc).
int64_t HistogramAvx512(const HistogramArgs& args, SlotSpan span, HistogramSeen* seen);

}  // namespace quantd

#endif  // QUANTD_KERNELS_AVX512_FORMATS_AVX512_H_
