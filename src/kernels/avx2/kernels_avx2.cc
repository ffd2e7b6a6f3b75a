// AVX2 (+FMA, F16C) integer quantization kernels: 8 floats a step, the tail
// and FLOAT64 inputs by the reference. Compiled with AVX2 flags; only
// KernelsAvx2() is visible outside, and dispatch calls it only when the
// CPU and OS support AVX2. Everything else has internal linkage.
#include <immintrin.h>

#include "kernels/kernels.h"

namespace quantd {
namespace {

constexpr int64_t kLanes = 8;

__m256 Load(DType dtype, const std::byte* data, int64_t i) {
  switch (dtype) {
    case DType::kFloat16:
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 2 * i)));
    case DType::kBFloat16: {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 2 * i));
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
    }
    default:
      return _mm256_loadu_ps(reinterpret_cast<const float*>(data) + i);
  }
}

// Eight int32 values in 0..65535 (or -32768..32767) to eight 16-bit lanes.
__m128i Narrow32To16(__m256i v, bool is_unsigned) {
  const __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
  return is_unsigned ? _mm_packus_epi32(lo, hi) : _mm_packs_epi32(lo, hi);
}

void Store(DType dtype, std::byte* data, int64_t i, __m256 y) {
  switch (dtype) {
    case DType::kFloat16:
      _mm_storeu_si128(reinterpret_cast<__m128i*>(data + 2 * i),
                       _mm256_cvtps_ph(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      break;
    case DType::kBFloat16: {
      // Round to nearest even, as the reference FloatToBFloat16Bits (y is never NaN).
      const __m256i bits = _mm256_castps_si256(y);
      const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
      const __m256i rounded =
          _mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7fff)), lsb);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(data + 2 * i),
                       Narrow32To16(_mm256_srli_epi32(rounded, 16), true));
      break;
    }
    default:
      _mm256_storeu_ps(reinterpret_cast<float*>(data) + i, y);
  }
}

__m256 Round(__m256 v, Rounding rounding) {
  switch (rounding) {
    case Rounding::kFloor:
      return _mm256_round_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    case Rounding::kHalfAwayFromZero: {
      // trunc(v), plus one away from zero where the dropped fraction is at
      // least a half; v - trunc(v) is exact.
      const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
      const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m256 fraction = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
      const __m256 up = _mm256_cmp_ps(fraction, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
      return _mm256_add_ps(t, _mm256_and_ps(up, _mm256_or_ps(_mm256_set1_ps(1.0f), sign)));
    }
    default:
      return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
}

__m256 ChannelValues(const float* values, SlotSpan span, int64_t k, float absent) {
  if (values == nullptr) return _mm256_set1_ps(absent);
  return span.stride == 0 ? _mm256_set1_ps(values[span.slot])
                          : _mm256_loadu_ps(values + span.slot + k);
}

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

double ReduceAdd(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

double ReduceMaxPd(__m256d v) {
  __m128d s = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
}

int64_t MinMax(FloatSource src, SlotSpan span, float* mins, float* maxs) {
  if (src.dtype == DType::kFloat64) return KernelsReference().min_max(src, span, mins, maxs);
  const int64_t body = span.count / kLanes * kLanes;
  __m256 lo = _mm256_set1_ps(__builtin_inff());
  __m256 hi = _mm256_set1_ps(-__builtin_inff());
  for (int64_t k = 0; k < body; k += kLanes) {
    const __m256 x = Load(src.dtype, src.data, span.start + k);
    // x - x is NaN exactly when x is NaN or infinite.
    const __m256 d = _mm256_sub_ps(x, x);
    const int bad = _mm256_movemask_ps(_mm256_cmp_ps(d, d, _CMP_UNORD_Q));
    if (bad) return span.start + k + __builtin_ctz(bad);
    if (span.stride == 0) {
      lo = _mm256_min_ps(lo, x);
      hi = _mm256_max_ps(hi, x);
    } else {
      float* mn = mins + span.slot + k;
      float* mx = maxs + span.slot + k;
      _mm256_storeu_ps(mn, _mm256_min_ps(_mm256_loadu_ps(mn), x));
      _mm256_storeu_ps(mx, _mm256_max_ps(_mm256_loadu_ps(mx), x));
    }
  }
  if (span.stride == 0 && body > 0) {
    const float l = ReduceMin(lo), h = ReduceMax(hi);
    if (l < mins[span.slot]) mins[span.slot] = l;
    if (h > maxs[span.slot]) maxs[span.slot] = h;
  }
  return KernelsReference().min_max(src, SpanTail(span, body), mins, maxs);
}

// INT8 and UINT8 with every rounding but STOCHASTIC.
int64_t QuantizeInt8(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const int64_t body = span.count / kLanes * kLanes;
  const __m256 qmin = _mm256_set1_ps(args.qmin), qmax = _mm256_set1_ps(args.qmax);
  const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
  // Two of each accumulator (one per half vector), so that consecutive
  // additions do not wait on each other.
  const __m256d zero = _mm256_setzero_pd();
  __m256d sq_x[2] = {zero, zero}, sq_y[2] = {zero, zero}, xy[2] = {zero, zero},
          sq_e[2] = {zero, zero}, abs_e[2] = {zero, zero}, max_e[2] = {zero, zero};
  int64_t clipped = 0;
  const bool is_unsigned = args.format->dtype == DType::kUInt8;
  for (int64_t k = 0; k < body; k += kLanes) {
    const int64_t i = span.start + k;
    const __m256 inv = ChannelValues(args.params.inv_scales, span, k, 1.0f);
    const __m256 scale = ChannelValues(args.params.scales, span, k, 1.0f);
    const __m256 zp = ChannelValues(args.params.zero_points, span, k, 0.0f);
    const __m256 x = Load(args.src.dtype, args.src.data, i);
    const __m256 d = _mm256_sub_ps(x, x);  // NaN exactly where x is NaN or infinite.
    if (const int bad = _mm256_movemask_ps(_mm256_cmp_ps(d, d, _CMP_UNORD_Q))) {
      return i + __builtin_ctz(bad);
    }
    __m256 q = _mm256_add_ps(Round(_mm256_mul_ps(x, inv), args.rounding), zp);
    const __m256 out = _mm256_or_ps(_mm256_cmp_ps(q, qmin, _CMP_LT_OQ),
                                    _mm256_cmp_ps(q, qmax, _CMP_GT_OQ));
    clipped += __builtin_popcount(_mm256_movemask_ps(out));
    q = _mm256_min_ps(_mm256_max_ps(q, qmin), qmax);
    const __m256i qi = _mm256_cvtps_epi32(q);
    const __m128i q16 = Narrow32To16(qi, false);
    const __m128i q8 = is_unsigned ? _mm_packus_epi16(q16, q16) : _mm_packs_epi16(q16, q16);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(args.dst + i), q8);
    const __m256 y =
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(qi, _mm256_cvtps_epi32(zp))), scale);
    if (args.deq != nullptr) Store(args.deq_dtype, args.deq, i, y);
    for (int half = 0; half < 2; ++half) {
      const __m256d xd = _mm256_cvtps_pd(half ? _mm256_extractf128_ps(x, 1) : _mm256_castps256_ps128(x));
      const __m256d yd = _mm256_cvtps_pd(half ? _mm256_extractf128_ps(y, 1) : _mm256_castps256_ps128(y));
      const __m256d ed = _mm256_sub_pd(xd, yd);
      const __m256d ad = _mm256_and_pd(ed, abs_mask);
      sq_x[half] = _mm256_fmadd_pd(xd, xd, sq_x[half]);
      sq_y[half] = _mm256_fmadd_pd(yd, yd, sq_y[half]);
      xy[half] = _mm256_fmadd_pd(xd, yd, xy[half]);
      sq_e[half] = _mm256_fmadd_pd(ed, ed, sq_e[half]);
      abs_e[half] = _mm256_add_pd(abs_e[half], ad);
      max_e[half] = _mm256_max_pd(max_e[half], ad);
    }
  }
  sums->sum_sq_x += ReduceAdd(_mm256_add_pd(sq_x[0], sq_x[1]));
  sums->sum_sq_y += ReduceAdd(_mm256_add_pd(sq_y[0], sq_y[1]));
  sums->sum_xy += ReduceAdd(_mm256_add_pd(xy[0], xy[1]));
  sums->sum_sq_error += ReduceAdd(_mm256_add_pd(sq_e[0], sq_e[1]));
  sums->sum_abs_error += ReduceAdd(_mm256_add_pd(abs_e[0], abs_e[1]));
  const double max_abs = ReduceMaxPd(_mm256_max_pd(max_e[0], max_e[1]));
  if (max_abs > sums->max_abs_error) sums->max_abs_error = max_abs;
  sums->clipped += clipped;
  sums->count += body;
  return KernelsReference().quantize(args, SpanTail(span, body), sums);
}

void DequantizeInt8(const DequantizeArgs& args, SlotSpan span) {
  const int64_t body = span.count / kLanes * kLanes;
  for (int64_t k = 0; k < body; k += kLanes) {
    const int64_t i = span.start + k;
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(args.src + i));
    const __m256i q = args.format->dtype == DType::kInt8 ? _mm256_cvtepi8_epi32(bytes)
                                                     : _mm256_cvtepu8_epi32(bytes);
    const __m256i zp = _mm256_cvtps_epi32(ChannelValues(args.params.zero_points, span, k, 0.0f));
    const __m256 scale = ChannelValues(args.params.scales, span, k, 1.0f);
    Store(args.dst_dtype, args.dst, i,
          _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q, zp)), scale));
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

const KernelTable* KernelsAvx2() {
  static const KernelTable table{Isa::kAvx2, &MinMax, &Quantize, &Dequantize};
  return &table;
}

}  // namespace quantd
