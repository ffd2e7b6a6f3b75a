// The AVX2 kernels of the formats beyond INT8/UINT8, one file each;
// kernels_avx2.cc dispatches to them as simd_coverage.h says. Plain
// declarations: the definitions are compiled with AVX2 flags, and run
// only once dispatch has found the CPU able.
#ifndef QUANTD_KERNELS_AVX2_FORMATS_AVX2_H_
#define QUANTD_KERNELS_AVX2_FORMATS_AVX2_H_

#include <cstdint>

#include "kernels/kernels.h"

namespace quantd {

// SimdFamily::kInt4: INT4, UINT4.
int64_t QuantizeInt4Avx2(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums);
void DequantizeInt4Avx2(const DequantizeArgs& args, SlotSpan span);

// SimdFamily::kMiniFloat: FLOAT8_E4M3FN, FLOAT8_E5M2, FLOAT16, BFLOAT16.
int64_t QuantizeMiniFloatAvx2(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums);
void DequantizeMiniFloatAvx2(const DequantizeArgs& args, SlotSpan span);

// SimdFamily::kNf4: NF4 with one table for every slot.
int64_t QuantizeNf4Avx2(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums);
void DequantizeNf4Avx2(const DequantizeArgs& args, SlotSpan span);

// Histogram binning for calibration (histogram_avx2.cc).
int64_t HistogramAvx2(const HistogramArgs& args, SlotSpan span, HistogramSeen* seen);

}  // namespace quantd

#endif  // QUANTD_KERNELS_AVX2_FORMATS_AVX2_H_
