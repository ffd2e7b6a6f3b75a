// AVX2 INT4 and UINT4 with every rounding but STOCHASTIC: 8 values a step
// into 4 bytes; an odd head and the tail by the reference.
#include "kernels/avx2/formats_avx2.h"
#include "kernels/avx2/simd_avx2.h"

namespace quantd {

int64_t QuantizeInt4Avx2(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const __m256 qmin = _mm256_set1_ps(args.qmin), qmax = _mm256_set1_ps(args.qmax);
  const Rounding rounding = args.rounding;
  std::byte* const dst = args.dst;
  return QuantizeNibbleSpan(args, span, sums, [=](__m256 v, __m256 zp, int64_t i, ClipCounter* clipped) {
    // Clamped to the format's range, so the low 4 bits are the code.
    const IntegerCode q = IntegerCodes(v, zp, rounding, qmin, qmax, clipped);
    StoreNibbles(dst + i / 2, q.code);
    return q.level;
  });
}

void DequantizeInt4Avx2(const DequantizeArgs& args, SlotSpan span) {
  const bool is_signed = args.format->dtype == DType::kInt4;
  const std::byte* const src = args.src;
  DequantizeNibbleSpan(args, span, [=](int64_t i, __m256 zp) {
    const __m256i q = LoadNibbles(src + i / 2, is_signed);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(q, _mm256_cvtps_epi32(zp)));
  });
}

}  // namespace quantd
