// AVX-512 (F/BW/VL/DQ) kernels: min/max, INT8/UINT8, and the dispatch to
// the other formats' files (formats_avx512.h); 16 floats a step, the tail
// and what simd_coverage.h leaves out by the reference. Compiled with
// AVX-512 flags; KernelsAvx512() and the format kernels are visible
// outside, and dispatch calls them only when the CPU and OS support
// AVX-512. Everything else has internal linkage, so no AVX-512 code can leak
// into shared inline functions.
#include <immintrin.h>

#include "kernels/avx512/formats_avx512.h"
#include "kernels/avx512/simd_avx512.h"
#include "kernels/kernels.h"
#include "kernels/simd_coverage.h"

namespace quantd {
namespace {

// The flat index of the first non-finite element among the span's first
// `body`, or -1.
int64_t FirstNonFiniteIndex(FloatSource src, SlotSpan span, int64_t body) {
  for (int64_t k = 0; k < body; k += kLanes) {
    const __m512 x = Load(src.dtype, src.data, span.start + k);
    if (const __mmask16 bad = NonFinite(x)) return span.start + k + __builtin_ctz(bad);
  }
  return -1;
}

// A span of one slot keeps two pairs of accumulators, so that consecutive
// steps do not wait on each other, and or-s the vectors' non-finite lanes
// together, looking for the first one only when there is one: spans can
// be as short as a row of a per-channel tensor, where the reductions and
// calls around the loop weigh as much as the loop.
int64_t MinMax(FloatSource src, SlotSpan span, float* mins, float* maxs) {
  if (src.dtype == DType::kFloat64) return KernelsReference().min_max(src, span, mins, maxs);
  const int64_t body = span.count / kLanes * kLanes;
  if (span.stride == 0) {
    __m512 lo0 = _mm512_set1_ps(__builtin_inff()), lo1 = lo0;
    __m512 hi0 = _mm512_set1_ps(-__builtin_inff()), hi1 = hi0;
    __mmask16 bad = 0;
    int64_t k = 0;
    for (; k + 2 * kLanes <= body; k += 2 * kLanes) {
      const __m512 x0 = Load(src.dtype, src.data, span.start + k);
      const __m512 x1 = Load(src.dtype, src.data, span.start + k + kLanes);
      bad |= NonFinite(x0) | NonFinite(x1);
      lo0 = _mm512_min_ps(lo0, x0);
      hi0 = _mm512_max_ps(hi0, x0);
      lo1 = _mm512_min_ps(lo1, x1);
      hi1 = _mm512_max_ps(hi1, x1);
    }
    if (k < body) {
      const __m512 x = Load(src.dtype, src.data, span.start + k);
      bad |= NonFinite(x);
      lo0 = _mm512_min_ps(lo0, x);
      hi0 = _mm512_max_ps(hi0, x);
    }
    if (bad != 0) return FirstNonFiniteIndex(src, span, body);
    if (body > 0) {
      const float l = _mm512_reduce_min_ps(_mm512_min_ps(lo0, lo1));
      const float h = _mm512_reduce_max_ps(_mm512_max_ps(hi0, hi1));
      if (l < mins[span.slot]) mins[span.slot] = l;
      if (h > maxs[span.slot]) maxs[span.slot] = h;
    }
  } else {
    for (int64_t k = 0; k < body; k += kLanes) {
      const __m512 x = Load(src.dtype, src.data, span.start + k);
      if (const __mmask16 bad = NonFinite(x)) return span.start + k + __builtin_ctz(bad);
      float* mn = mins + span.slot + k;
      float* mx = maxs + span.slot + k;
      _mm512_storeu_ps(mn, _mm512_min_ps(_mm512_loadu_ps(mn), x));
      _mm512_storeu_ps(mx, _mm512_max_ps(_mm512_loadu_ps(mx), x));
    }
  }
  if (body == span.count) return -1;
  return KernelsReference().min_max(src, SpanTail(span, body), mins, maxs);
}

// INT8 and UINT8 with every rounding but STOCHASTIC.
int64_t QuantizeInt8(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const __m512 qmin = _mm512_set1_ps(args.qmin), qmax = _mm512_set1_ps(args.qmax);
  const Rounding rounding = args.rounding;
  const bool is_signed = args.format->dtype == DType::kInt8;
  std::byte* const dst = args.dst;
  return QuantizeSpan(args, span, sums, [=](__m512 v, __m512 zp, int64_t i, ClipCounter* clipped) {
    const IntegerCode q = IntegerCodes(v, zp, rounding, qmin, qmax, clipped);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     is_signed ? _mm512_cvtsepi32_epi8(q.code) : _mm512_cvtusepi32_epi8(q.code));
    return q.level;
  });
}

void DequantizeInt8(const DequantizeArgs& args, SlotSpan span) {
  const bool is_signed = args.format->dtype == DType::kInt8;
  const std::byte* const src = args.src;
  DequantizeSpan(args, span, [=](int64_t i, __m512 zp) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m512i q = is_signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
    return _mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_cvtps_epi32(zp)));
  });
}

int64_t Quantize(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  switch (QuantizeFamily(args)) {
    case SimdFamily::kInt8: return QuantizeInt8(args, span, sums);
    case SimdFamily::kInt4: return QuantizeInt4Avx512(args, span, sums);
    case SimdFamily::kMiniFloat: return QuantizeMiniFloatAvx512(args, span, sums);
    case SimdFamily::kNf4: return QuantizeNf4Avx512(args, span, sums);
    case SimdFamily::kReference: break;
  }
  return KernelsReference().quantize(args, span, sums);
}

void Dequantize(const DequantizeArgs& args, SlotSpan span) {
  switch (DequantizeFamily(args)) {
    case SimdFamily::kInt8: return DequantizeInt8(args, span);
    case SimdFamily::kInt4: return DequantizeInt4Avx512(args, span);
    case SimdFamily::kMiniFloat: return DequantizeMiniFloatAvx512(args, span);
    case SimdFamily::kNf4: return DequantizeNf4Avx512(args, span);
    case SimdFamily::kReference: break;
  }
  KernelsReference().dequantize(args, span);
}

}  // namespace

const KernelTable* KernelsAvx512() {
  static const KernelTable table{Isa::kAvx512, &MinMax, &Quantize, &Dequantize,
                                 &HistogramAvx512};
  return &table;
}

}  // namespace quantd
