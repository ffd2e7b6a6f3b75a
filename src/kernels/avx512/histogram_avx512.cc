// AVX-512 histogram binning (kernels.h's HistogramArgs): 16 values a step
// are tested, folded into the minimum and maximum, and turned into bin
// indices in registers; only the counting itself is scalar, one increment
// per counted value. The tail and FLOAT64 go to the reference.
#include <immintrin.h>

#include "kernels/avx512/formats_avx512.h"
#include "kernels/avx512/simd_avx512.h"
#include "kernels/kernels.h"

namespace quantd {

int64_t HistogramAvx512(const HistogramArgs& args, SlotSpan span, HistogramSeen* seen) {
  if (args.src.dtype == DType::kFloat64) return KernelsReference().histogram(args, span, seen);
  const int64_t body = span.count / kLanes * kLanes;
  const __m512 lower = _mm512_set1_ps(args.lower), upper = _mm512_set1_ps(args.upper);
  const __m512 infinity = _mm512_set1_ps(__builtin_inff()), scale = _mm512_set1_ps(args.scale);
  const __m512i half = _mm512_set1_epi32(static_cast<int32_t>(args.half));
  const __m512i last = _mm512_set1_epi32(static_cast<int32_t>(2 * args.half - 1));
  __m512 lo = _mm512_set1_ps(seen->lo), hi = _mm512_set1_ps(seen->hi);
  __mmask16 beyond = 0;
  alignas(64) int32_t bins[kLanes];
  for (int64_t k = 0; k < body; k += kLanes) {
    const __m512 x = Load(args.src.dtype, args.src.data, span.start + k);
    const __m512 magnitude = _mm512_abs_ps(x);
    // NaN fails both tests: counted, or over (beyond, or not finite).
    const __mmask16 over = _mm512_cmp_ps_mask(magnitude, upper, _CMP_NLE_UQ);
    if (over != 0) {
      if (const __mmask16 bad = over & ~_mm512_cmp_ps_mask(magnitude, infinity, _CMP_LT_OQ)) {
        return span.start + k + __builtin_ctz(bad);
      }
      beyond |= over;
    }
    lo = _mm512_min_ps(lo, x);
    hi = _mm512_max_ps(hi, x);
    __mmask16 counted =
        _mm512_mask_cmp_ps_mask(static_cast<__mmask16>(~over), magnitude, lower, _CMP_GT_OQ);
    if (counted == 0) continue;
    // floor(x * scale), and -1 where a negative x's product underflowed to -0.
    const __m512 v = _mm512_mul_ps(x, scale);
    __m512i floor = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __mmask16 below_zero = _mm512_mask_cmp_ps_mask(
        _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), v, _mm512_setzero_ps(), _CMP_EQ_OQ);
    floor = _mm512_mask_sub_epi32(floor, below_zero, floor, _mm512_set1_epi32(1));
    _mm512_store_si512(bins, _mm512_min_epi32(_mm512_add_epi32(floor, half), last));
    if (counted == 0xFFFF) {  // The usual case, without the bit scan.
      for (int i = 0; i < kLanes; ++i) ++args.counts[bins[i]];
      continue;
    }
    for (; counted != 0; counted &= counted - 1) ++args.counts[bins[__builtin_ctz(counted)]];
  }
  if (body > 0) {
    seen->lo = _mm512_reduce_min_ps(lo);
    seen->hi = _mm512_reduce_max_ps(hi);
    seen->beyond |= beyond != 0;
  }
  if (body == span.count) return -1;
  return KernelsReference().histogram(args, SpanTail(span, body), seen);
}

}  // namespace quantd
