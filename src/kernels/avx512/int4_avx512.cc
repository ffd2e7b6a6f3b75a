// AVX-512 INT4 and UINT4 with every rounding but STOCHASTIC: 16 values a
// step into 8 bytes; an odd head and the tail by the reference.
#include "kernels/avx512/formats_avx512.h"
#include "kernels/avx512/simd_avx512.h"

namespace quantd {

int64_t QuantizeInt4Avx512(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const __m512 qmin = _mm512_set1_ps(args.qmin), qmax = _mm512_set1_ps(args.qmax);
  const Rounding rounding = args.rounding;
  std::byte* const dst = args.dst;
  return QuantizeNibbleSpan(args, span, sums, [=](__m512 v, __m512 zp, int64_t i, ClipCounter* clipped) {
    // Clamped to the format's range, so the low 4 bits are the code.
    const IntegerCode q = IntegerCodes(v, zp, rounding, qmin, qmax, clipped);
    StoreNibbles(dst + i / 2, q.code);
    return q.level;
  });
}

void DequantizeInt4Avx512(const DequantizeArgs& args, SlotSpan span) {
  const bool is_signed = args.format->dtype == DType::kInt4;
  const std::byte* const src = args.src;
  DequantizeNibbleSpan(args, span, [=](int64_t i, __m512 zp) {
    const __m512i q = LoadNibbles(src + i / 2, is_signed);
    return _mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_cvtps_epi32(zp)));
  });
}

}  // namespace quantd
