// AVX2 (+FMA, F16C) kernels: min/max, INT8/UINT8, and the dispatch to the
// other formats' files (formats_avx2.h); 8 floats a step, the tail and what
// simd_coverage.h leaves out by the reference. Compiled with AVX2 flags;
// KernelsAvx2() and the format kernels are visible outside, and dispatch
// calls them only when the CPU and OS support AVX2. Everything else has
// internal linkage.
#include <immintrin.h>

#include "kernels/avx2/formats_avx2.h"
#include "kernels/avx2/simd_avx2.h"
#include "kernels/kernels.h"
#include "kernels/simd_coverage.h"

namespace quantd {
namespace {

float ReduceMin(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

float ReduceMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// The flat index of the first non-finite element among the span's first
// `body`, or -1.
int64_t FirstNonFiniteIndex(FloatSource src, SlotSpan span, int64_t body) {
  for (int64_t k = 0; k < body; k += kLanes) {
    const __m256 x = Load(src.dtype, src.data, span.start + k);
    if (const int bad = NonFinite(x)) return span.start + k + __builtin_ctz(bad);
  }
  return -1;
}

// As the AVX-512 MinMax: two pairs of accumulators for a span of one slot,
// its vectors' non-finite lanes or-ed together.
int64_t MinMax(FloatSource src, SlotSpan span, float* mins, float* maxs) {
  if (src.dtype == DType::kFloat64) return KernelsReference().min_max(src, span, mins, maxs);
  const int64_t body = span.count / kLanes * kLanes;
  if (span.stride == 0) {
    __m256 lo0 = _mm256_set1_ps(__builtin_inff()), lo1 = lo0;
    __m256 hi0 = _mm256_set1_ps(-__builtin_inff()), hi1 = hi0;
    int bad = 0;
    int64_t k = 0;
    for (; k + 2 * kLanes <= body; k += 2 * kLanes) {
      const __m256 x0 = Load(src.dtype, src.data, span.start + k);
      const __m256 x1 = Load(src.dtype, src.data, span.start + k + kLanes);
      bad |= NonFinite(x0) | NonFinite(x1);
      lo0 = _mm256_min_ps(lo0, x0);
      hi0 = _mm256_max_ps(hi0, x0);
      lo1 = _mm256_min_ps(lo1, x1);
      hi1 = _mm256_max_ps(hi1, x1);
    }
    if (k < body) {
      const __m256 x = Load(src.dtype, src.data, span.start + k);
      bad |= NonFinite(x);
      lo0 = _mm256_min_ps(lo0, x);
      hi0 = _mm256_max_ps(hi0, x);
    }
    if (bad != 0) return FirstNonFiniteIndex(src, span, body);
    if (body > 0) {
      const float l = ReduceMin(_mm256_min_ps(lo0, lo1)), h = ReduceMax(_mm256_max_ps(hi0, hi1));
      if (l < mins[span.slot]) mins[span.slot] = l;
      if (h > maxs[span.slot]) maxs[span.slot] = h;
    }
  } else {
    for (int64_t k = 0; k < body; k += kLanes) {
      const __m256 x = Load(src.dtype, src.data, span.start + k);
      if (const int bad = NonFinite(x)) return span.start + k + __builtin_ctz(bad);
      float* mn = mins + span.slot + k;
      float* mx = maxs + span.slot + k;
      _mm256_storeu_ps(mn, _mm256_min_ps(_mm256_loadu_ps(mn), x));
      _mm256_storeu_ps(mx, _mm256_max_ps(_mm256_loadu_ps(mx), x));
    }
  }
  if (body == span.count) return -1;
  return KernelsReference().min_max(src, SpanTail(span, body), mins, maxs);
}

// INT8 and UINT8 with every rounding but STOCHASTIC.
int64_t QuantizeInt8(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const __m256 qmin = _mm256_set1_ps(args.qmin), qmax = _mm256_set1_ps(args.qmax);
  const Rounding rounding = args.rounding;
  const bool is_unsigned = args.format->dtype == DType::kUInt8;
  std::byte* const dst = args.dst;
  return QuantizeSpan(args, span, sums, [=](__m256 v, __m256 zp, int64_t i, ClipCounter* clipped) {
    const IntegerCode q = IntegerCodes(v, zp, rounding, qmin, qmax, clipped);
    const __m128i q16 = Narrow32To16(q.code, false);
    const __m128i q8 = is_unsigned ? _mm_packus_epi16(q16, q16) : _mm_packs_epi16(q16, q16);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + i), q8);
    return q.level;
  });
}

void DequantizeInt8(const DequantizeArgs& args, SlotSpan span) {
  const bool is_signed = args.format->dtype == DType::kInt8;
  const std::byte* const src = args.src;
  DequantizeSpan(args, span, [=](int64_t i, __m256 zp) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + i));
    const __m256i q = is_signed ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(q, _mm256_cvtps_epi32(zp)));
  });
}

int64_t Quantize(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  switch (QuantizeFamily(args)) {
    case SimdFamily::kInt8: return QuantizeInt8(args, span, sums);
    case SimdFamily::kInt4: return QuantizeInt4Avx2(args, span, sums);
    case SimdFamily::kMiniFloat: return QuantizeMiniFloatAvx2(args, span, sums);
    case SimdFamily::kNf4: return QuantizeNf4Avx2(args, span, sums);
    case SimdFamily::kReference: break;
  }
  return KernelsReference().quantize(args, span, sums);
}

void Dequantize(const DequantizeArgs& args, SlotSpan span) {
  switch (DequantizeFamily(args)) {
    case SimdFamily::kInt8: return DequantizeInt8(args, span);
    case SimdFamily::kInt4: return DequantizeInt4Avx2(args, span);
    case SimdFamily::kMiniFloat: return DequantizeMiniFloatAvx2(args, span);
    case SimdFamily::kNf4: return DequantizeNf4Avx2(args, span);
    case SimdFamily::kReference: break;
  }
  KernelsReference().dequantize(args, span);
}

}  // namespace

const KernelTable* KernelsAvx2() {
  static const KernelTable table{Isa::kAvx2, &MinMax, &Quantize, &Dequantize,
                                 &HistogramAvx2};
  return &table;
}

}  // namespace quantd
