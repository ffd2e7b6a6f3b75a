// AVX-512 (F/BW/VL/DQ) integer quantization kernels: 16 floats a step, the
// tail and FLOAT64 inputs by the reference. Compiled with AVX-512 flags; only
// KernelsAvx512() is visible outside, and dispatch calls it only when the
// CPU and OS support AVX-512. Everything else here has internal linkage, so
// no AVX-512 code can leak into shared inline functions.
#include <immintrin.h>

#include "kernels/kernels.h"

namespace quantd {
namespace {

constexpr int64_t kLanes = 16;

__m512 Load(DType dtype, const std::byte* data, int64_t i) {
  switch (dtype) {
    case DType::kFloat16:
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 2 * i)));
    case DType::kBFloat16: {
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 2 * i));
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
    }
    default:
      return _mm512_loadu_ps(reinterpret_cast<const float*>(data) + i);
  }
}

// Round to nearest even (no overflow: y is never NaN here), as the reference
// FloatToBFloat16Bits.
__m256i ToBFloat16(__m512 y) {
  const __m512i bits = _mm512_castps_si512(y);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7fff)), lsb);
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16));
}

void Store(DType dtype, std::byte* data, int64_t i, __m512 y) {
  switch (dtype) {
    case DType::kFloat16:
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(data + 2 * i),
                          _mm512_cvtps_ph(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      break;
    case DType::kBFloat16:
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(data + 2 * i), ToBFloat16(y));
      break;
    default:
      _mm512_storeu_ps(reinterpret_cast<float*>(data) + i, y);
  }
}

__m512 Round(__m512 v, Rounding rounding) {
  switch (rounding) {
    case Rounding::kFloor:
      return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    case Rounding::kHalfAwayFromZero: {
      // trunc(v), plus one away from zero where the dropped fraction is at
      // least a half; v - trunc(v) is exact.
      const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m512 fraction = _mm512_abs_ps(_mm512_sub_ps(v, t));
      const __mmask16 up = _mm512_cmp_ps_mask(fraction, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
      const __m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f),
                                      _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
      return _mm512_mask_add_ps(t, up, t, one);
    }
    default:
      return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
}

// Loads 16 channel parameters: one broadcast (stride 0) or 16 consecutive.
__m512 ChannelValues(const float* values, SlotSpan span, int64_t k, float absent) {
  if (values == nullptr) return _mm512_set1_ps(absent);
  return span.stride == 0 ? _mm512_set1_ps(values[span.slot])
                          : _mm512_loadu_ps(values + span.slot + k);
}

int64_t MinMax(FloatSource src, SlotSpan span, float* mins, float* maxs) {
  if (src.dtype == DType::kFloat64) return KernelsReference().min_max(src, span, mins, maxs);
  const int64_t body = span.count / kLanes * kLanes;
  __m512 lo = _mm512_set1_ps(__builtin_inff());
  __m512 hi = _mm512_set1_ps(-__builtin_inff());
  for (int64_t k = 0; k < body; k += kLanes) {
    const __m512 x = Load(src.dtype, src.data, span.start + k);
    // NaN, +Inf, -Inf (quiet and signalling NaN classes).
    const __mmask16 bad = _mm512_fpclass_ps_mask(x, 0x01 | 0x08 | 0x10 | 0x80);
    if (bad) return span.start + k + __builtin_ctz(bad);
    if (span.stride == 0) {
      lo = _mm512_min_ps(lo, x);
      hi = _mm512_max_ps(hi, x);
    } else {
      float* mn = mins + span.slot + k;
      float* mx = maxs + span.slot + k;
      _mm512_storeu_ps(mn, _mm512_min_ps(_mm512_loadu_ps(mn), x));
      _mm512_storeu_ps(mx, _mm512_max_ps(_mm512_loadu_ps(mx), x));
    }
  }
  if (span.stride == 0 && body > 0) {
    const float l = _mm512_reduce_min_ps(lo), h = _mm512_reduce_max_ps(hi);
    if (l < mins[span.slot]) mins[span.slot] = l;
    if (h > maxs[span.slot]) maxs[span.slot] = h;
  }
  return KernelsReference().min_max(src, SpanTail(span, body), mins, maxs);
}

// INT8 and UINT8 with every rounding but STOCHASTIC.
int64_t QuantizeInt8(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const int64_t body = span.count / kLanes * kLanes;
  const __m512 qmin = _mm512_set1_ps(args.qmin), qmax = _mm512_set1_ps(args.qmax);
  // Two of each accumulator (one per half vector), so that consecutive
  // additions do not wait on each other.
  const __m512d zero = _mm512_setzero_pd();
  __m512d sq_x[2] = {zero, zero}, sq_y[2] = {zero, zero}, xy[2] = {zero, zero},
          sq_e[2] = {zero, zero}, abs_e[2] = {zero, zero}, max_e[2] = {zero, zero};
  int64_t clipped = 0;
  for (int64_t k = 0; k < body; k += kLanes) {
    const int64_t i = span.start + k;
    const __m512 inv = ChannelValues(args.params.inv_scales, span, k, 1.0f);
    const __m512 scale = ChannelValues(args.params.scales, span, k, 1.0f);
    const __m512 zp = ChannelValues(args.params.zero_points, span, k, 0.0f);
    const __m512 x = Load(args.src.dtype, args.src.data, i);
    if (const __mmask16 bad = _mm512_fpclass_ps_mask(x, 0x01 | 0x08 | 0x10 | 0x80)) {
      return i + __builtin_ctz(bad);
    }
    __m512 q = _mm512_add_ps(Round(_mm512_mul_ps(x, inv), args.rounding), zp);
    const __mmask16 out = _mm512_cmp_ps_mask(q, qmin, _CMP_LT_OQ) |
                          _mm512_cmp_ps_mask(q, qmax, _CMP_GT_OQ);
    clipped += __builtin_popcount(out);
    q = _mm512_min_ps(_mm512_max_ps(q, qmin), qmax);
    const __m512i qi = _mm512_cvtps_epi32(q);
    if (args.format->dtype == DType::kInt8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(args.dst + i), _mm512_cvtsepi32_epi8(qi));
    } else {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(args.dst + i), _mm512_cvtusepi32_epi8(qi));
    }
    const __m512 y =
        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(qi, _mm512_cvtps_epi32(zp))), scale);
    if (args.deq != nullptr) Store(args.deq_dtype, args.deq, i, y);
    // The sums in double, as the reference keeps them.
    for (int half = 0; half < 2; ++half) {
      const __m512d xd = _mm512_cvtps_pd(half ? _mm512_extractf32x8_ps(x, 1) : _mm512_castps512_ps256(x));
      const __m512d yd = _mm512_cvtps_pd(half ? _mm512_extractf32x8_ps(y, 1) : _mm512_castps512_ps256(y));
      const __m512d ed = _mm512_sub_pd(xd, yd);
      const __m512d ad = _mm512_abs_pd(ed);
      sq_x[half] = _mm512_fmadd_pd(xd, xd, sq_x[half]);
      sq_y[half] = _mm512_fmadd_pd(yd, yd, sq_y[half]);
      xy[half] = _mm512_fmadd_pd(xd, yd, xy[half]);
      sq_e[half] = _mm512_fmadd_pd(ed, ed, sq_e[half]);
      abs_e[half] = _mm512_add_pd(abs_e[half], ad);
      max_e[half] = _mm512_max_pd(max_e[half], ad);
    }
  }
  sums->sum_sq_x += _mm512_reduce_add_pd(_mm512_add_pd(sq_x[0], sq_x[1]));
  sums->sum_sq_y += _mm512_reduce_add_pd(_mm512_add_pd(sq_y[0], sq_y[1]));
  sums->sum_xy += _mm512_reduce_add_pd(_mm512_add_pd(xy[0], xy[1]));
  sums->sum_sq_error += _mm512_reduce_add_pd(_mm512_add_pd(sq_e[0], sq_e[1]));
  sums->sum_abs_error += _mm512_reduce_add_pd(_mm512_add_pd(abs_e[0], abs_e[1]));
  const double max_abs = _mm512_reduce_max_pd(_mm512_max_pd(max_e[0], max_e[1]));
  if (max_abs > sums->max_abs_error) sums->max_abs_error = max_abs;
  sums->clipped += clipped;
  sums->count += body;
  return KernelsReference().quantize(args, SpanTail(span, body), sums);
}

void DequantizeInt8(const DequantizeArgs& args, SlotSpan span) {
  const int64_t body = span.count / kLanes * kLanes;
  for (int64_t k = 0; k < body; k += kLanes) {
    const int64_t i = span.start + k;
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(args.src + i));
    const __m512i q = args.format->dtype == DType::kInt8 ? _mm512_cvtepi8_epi32(bytes)
                                                     : _mm512_cvtepu8_epi32(bytes);
    const __m512i zp = _mm512_cvtps_epi32(ChannelValues(args.params.zero_points, span, k, 0.0f));
    const __m512 scale = ChannelValues(args.params.scales, span, k, 1.0f);
    Store(args.dst_dtype, args.dst, i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, zp)), scale));
  }
  KernelsReference().dequantize(args, SpanTail(span, body));
}

int64_t Quantize(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const bool float_io = args.src.dtype != DType::kFloat64 && args.deq_dtype != DType::kFloat64;
  const DType dtype = args.format->dtype;
  if (float_io && args.rounding != Rounding::kStochastic &&
      (dtype == DType::kInt8 || dtype == DType::kUInt8)) {
    return QuantizeInt8(args, span, sums);
  }
  return KernelsReference().quantize(args, span, sums);
}

void Dequantize(const DequantizeArgs& args, SlotSpan span) {
  const DType dtype = args.format->dtype;
  if (dtype == DType::kInt8 || dtype == DType::kUInt8) return DequantizeInt8(args, span);
  KernelsReference().dequantize(args, span);
}

}  // namespace

const KernelTable* KernelsAvx512() {
  static const KernelTable table{Isa::kAvx512, &MinMax, &Quantize, &Dequantize};
  return &table;
}

}  // namespace quantd
