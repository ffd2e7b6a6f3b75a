// AVX2 histogram binning (kernels.h's HistogramArgs): 8 values a step are
// tested, folded into the minimum and maximum, and turned into bin indices
// in registers; only the counting itself is scalar, one increment per
// counted value. The tail and FLOAT64 go to the reference.
#include <immintrin.h>

#include <algorithm>

#include "kernels/avx2/formats_avx2.h"
#include "kernels/avx2/simd_avx2.h"
#include "kernels/kernels.h"

namespace quantd {

int64_t HistogramAvx2(const HistogramArgs& args, SlotSpan span, HistogramSeen* seen) {
  if (args.src.dtype == DType::kFloat64) return KernelsReference().histogram(args, span, seen);
  const int64_t body = span.count / kLanes * kLanes;
  const __m256 sign = _mm256_set1_ps(-0.0f), zero = _mm256_setzero_ps();
  const __m256 lower = _mm256_set1_ps(args.lower), upper = _mm256_set1_ps(args.upper);
  const __m256 infinity = _mm256_set1_ps(__builtin_inff()), scale = _mm256_set1_ps(args.scale);
  const __m256i half = _mm256_set1_epi32(static_cast<int32_t>(args.half));
  const __m256i last = _mm256_set1_epi32(static_cast<int32_t>(2 * args.half - 1));
  __m256 lo = _mm256_set1_ps(seen->lo), hi = _mm256_set1_ps(seen->hi);
  int beyond = 0;
  alignas(32) int32_t bins[kLanes];
  for (int64_t k = 0; k < body; k += kLanes) {
    const __m256 x = Load(args.src.dtype, args.src.data, span.start + k);
    const __m256 magnitude = _mm256_andnot_ps(sign, x);
    // NaN fails both tests: counted, or over (beyond, or not finite).
    const int over = _mm256_movemask_ps(_mm256_cmp_ps(magnitude, upper, _CMP_NLE_UQ));
    if (over != 0) {
      const int finite = _mm256_movemask_ps(_mm256_cmp_ps(magnitude, infinity, _CMP_LT_OQ));
      if (const int bad = over & ~finite) return span.start + k + __builtin_ctz(bad);
      beyond |= over;
    }
    lo = _mm256_min_ps(lo, x);
    hi = _mm256_max_ps(hi, x);
    int counted = ~over & _mm256_movemask_ps(_mm256_cmp_ps(magnitude, lower, _CMP_GT_OQ));
    if (counted == 0) continue;
    // floor(x * scale), and -1 where a negative x's product underflowed to -0.
    const __m256 v = _mm256_mul_ps(x, scale);
    const __m256i floor = _mm256_cvtps_epi32(_mm256_floor_ps(v));
    const __m256 below_zero =
        _mm256_and_ps(_mm256_cmp_ps(x, zero, _CMP_LT_OQ), _mm256_cmp_ps(v, zero, _CMP_EQ_OQ));
    const __m256i bin =
        _mm256_add_epi32(_mm256_add_epi32(floor, _mm256_castps_si256(below_zero)), half);
    _mm256_store_si256(reinterpret_cast<__m256i*>(bins), _mm256_min_epi32(bin, last));
    if (counted == 0xFF) {  // The usual case, without the bit scan.
      for (int i = 0; i < kLanes; ++i) ++args.counts[bins[i]];
      continue;
    }
    for (; counted != 0; counted &= counted - 1) ++args.counts[bins[__builtin_ctz(counted)]];
  }
  if (body > 0) {
    alignas(32) float l[kLanes], h[kLanes];
    _mm256_store_ps(l, lo);
    _mm256_store_ps(h, hi);
    seen->lo = *std::min_element(l, l + kLanes);
    seen->hi = *std::max_element(h, h + kLanes);
    seen->beyond |= beyond != 0;
  }
  if (body == span.count) return -1;
  return KernelsReference().histogram(args, SpanTail(span, body), seen);
}

}  // namespace quantd
