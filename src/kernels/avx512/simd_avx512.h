// The AVX-512 kernels' building blocks: loads and stores of the float
// dtypes, rounding, per-slot parameters, the finiteness check, the
// error-sum accumulators, 4-bit packing, and the loops over a span that
// every format shares (SIMD body, reference head and tail).
//
// Only for files compiled with the AVX-512 flags (src/CMakeLists.txt).
// Everything here is in an unnamed namespace: each of those files keeps its
// own copy, so no AVX-512 code can be merged by the linker into a function
// that files without these flags call (see kernels/kernels.h).
#ifndef QUANTD_KERNELS_AVX512_SIMD_AVX512_H_
#define QUANTD_KERNELS_AVX512_SIMD_AVX512_H_

#include <immintrin.h>

#include <algorithm>
#include <cfloat>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace quantd {
namespace {

constexpr int64_t kLanes = 16;

inline __m512 Load(DType dtype, const std::byte* data, int64_t i) {
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

// Round to nearest even, as the reference FloatToBFloat16Bits. The only NaN
// a kernel stores is the quiet default NaN (a decoded NaN code times a
// scale), which this keeps as the reference does: its low half is zero.
inline __m256i ToBFloat16(__m512 y) {
  const __m512i bits = _mm512_castps_si512(y);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7fff)), lsb);
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16));
}

inline void Store(DType dtype, std::byte* data, int64_t i, __m512 y) {
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

inline __m512 Round(__m512 v, Rounding rounding) {
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

// SpanTail(span, done), here so that it inlines: the loops below take it
// once or twice per span, and spans can be as short as a group.
// In a run of groups, `done` counts whole groups.
inline SlotSpan After(SlotSpan span, int64_t done) {
  const int64_t slot = span.group > 0 ? span.slot + done / span.group : span.slot + done * span.stride;
  return SlotSpan{span.start + done, span.count - done, slot, span.stride, span.group};
}

// How a span's elements map to parameter slots (SlotSpan): all to one,
// one each (stride 1), or a run of groups (SlotSpan::group).
enum class Slots { kOne, kPerElement, kPerGroup };

// A slot parameter over a span's loop: for kOne one broadcast made before
// the loop, for kPerElement the 16 values of elements k..k+15, for a
// run of groups a broadcast made again when k enters another group (k only
// moves forward, except back to a chunk's start); `absent` where the
// parameter is not given.
template <Slots kSlots>
class SlotValues {
 public:
  SlotValues(const float* values, SlotSpan span, float absent)
      : values_(values == nullptr ? nullptr : values + span.slot),
        group_(span.group),
        constant_(_mm512_set1_ps(values == nullptr || kSlots == Slots::kPerElement ? absent
                                                                               : values[span.slot])) {}

  __m512 At(int64_t k) {
    if constexpr (kSlots == Slots::kPerElement) {
      if (values_ != nullptr) return _mm512_loadu_ps(values_ + k);
    }
    if constexpr (kSlots == Slots::kPerGroup) {
      if (values_ != nullptr && (k < group_start_ || k >= group_start_ + group_)) {
        group_start_ = k / group_ * group_;
        constant_ = _mm512_set1_ps(values_[k / group_]);
      }
    }
    return constant_;
  }

 private:
  const float* values_;
  int64_t group_;
  int64_t group_start_ = 0;
  __m512 constant_;
};

// The lanes holding NaN or an infinity (quiet and signalling NaN classes).
inline __mmask16 NonFinite(__m512 x) { return _mm512_fpclass_ps_mask(x, 0x01 | 0x08 | 0x10 | 0x80); }

// ErrorAccumulator::AddTo adds to these four as one vector.
static_assert(offsetof(ErrorSums, sum_sq_y) == offsetof(ErrorSums, sum_sq_x) + 8 &&
              offsetof(ErrorSums, sum_xy) == offsetof(ErrorSums, sum_sq_x) + 16 &&
              offsetof(ErrorSums, sum_sq_error) == offsetof(ErrorSums, sum_sq_x) + 24);

// A vector of doubles per half of a float vector: two accumulators, so that
// consecutive additions do not wait on each other.
inline __m512d HalfToDouble(__m512 v, int half) {
  return _mm512_cvtps_pd(half ? _mm512_extractf32x8_ps(v, 1) : _mm512_castps512_ps256(v));
}

struct DoubleLanes {
  __m512d half[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
  void Add(__m512 v) {
    half[0] = _mm512_add_pd(half[0], HalfToDouble(v, 0));
    half[1] = _mm512_add_pd(half[1], HalfToDouble(v, 1));
  }
  // The two halves added and folded to 4 lanes.
  __m256d Quarter() const {
    const __m512d s = _mm512_add_pd(half[0], half[1]);
    return _mm256_add_pd(_mm512_castpd512_pd256(s), _mm512_extractf64x4_pd(s, 1));
  }
};

// The error of x against x' (y), in two stages. Each vector goes into
// float32 sums per lane (x², y², xy, e², |e|, and the largest |e|, |x| and
// |y|); after kErrorChunk vectors, EndChunk adds them to double sums per
// lane. A float32 sum of kErrorChunk products of floats is within about
// 1e-6 of the exact one (the reference sums in double), and half the
// vector width of double arithmetic is what made the quantize pass
// compute-bound. EndChunk refuses a chunk that the float32 sums cannot
// carry: a sum beyond float32's range, squares small enough to lose their
// digits, or an error within float rounding of the largest one so far —
// the maximum is kept exact, as the reference keeps it. The caller then
// gives the chunk's vectors to AddExact, which sums in double as the
// reference does (x², y² and xy exact, e = x - y formed in double).
constexpr int kErrorChunk = 16;

struct ErrorAccumulator {
  explicit ErrorAccumulator(double max_so_far) : max_so_far(max_so_far) {}

  void Add(__m512 x, __m512 y) {
    const __m512 e = _mm512_sub_ps(x, y), abs_e = _mm512_abs_ps(e);
    f_sq_x = _mm512_fmadd_ps(x, x, f_sq_x);
    f_sq_y = _mm512_fmadd_ps(y, y, f_sq_y);
    f_xy = _mm512_fmadd_ps(x, y, f_xy);
    f_sq_e = _mm512_fmadd_ps(e, e, f_sq_e);
    f_abs_e = _mm512_add_ps(f_abs_e, abs_e);
    f_max_e = _mm512_max_ps(f_max_e, abs_e);
    // The bits of every x and y or-ed together: whether a lane saw a
    // non-zero one (vrangeps, the larger magnitude, costs more here). One
    // for both: a lane of zero x and non-zero y (or the reverse) only
    // sends its chunk to AddExact.
    any_xy = _mm512_or_ps(any_xy, _mm512_or_ps(x, y));
  }

  // Ends a chunk of Add: true when its float32 sums were added to the
  // double ones; false when they were dropped, and the chunk's vectors
  // must be given to AddExact. A chunk holding a non-finite x is always
  // refused: x² is non-finite too.
  bool EndChunk() {
    // Below 2^-100 a lane's sum may hold squares under FLT_MIN, rounded to
    // the subnormal grid or to zero; above it, such squares change the sum
    // by less than 2^-46 of itself.
    const __m512 tiny = _mm512_set1_ps(0x1p-100f), zero = _mm512_setzero_ps();
    const auto lost = [&](__m512 sum, __m512 any) {
      const __mmask16 non_zero =
          _mm512_test_epi32_mask(_mm512_castps_si512(any), _mm512_set1_epi32(0x7fffffff));
      return _mm512_cmp_ps_mask(sum, tiny, _CMP_LT_OQ) & non_zero;
    };
    // m >= M (the exact maxima) implies float(m) (1 + 2^-18) >= float(M),
    // rounding included.
    const __m512 record = _mm512_set1_ps(static_cast<float>(std::min(max_so_far, double{FLT_MAX})));
    const __m512 raised = _mm512_mul_ps(f_max_e, _mm512_set1_ps(1.0f + 0x1p-18f));
    const __mmask16 may_be_the_maximum = _mm512_cmp_ps_mask(raised, record, _CMP_GE_OQ) &
                                         _mm512_cmp_ps_mask(f_max_e, zero, _CMP_GT_OQ);
    const __mmask16 beyond_float = NonFinite(f_sq_x) | NonFinite(f_sq_y) | NonFinite(f_xy) |
                                   NonFinite(f_sq_e) | NonFinite(f_abs_e);
    const bool carried = (beyond_float | lost(f_sq_x, any_xy) | lost(f_sq_y, any_xy) |
                          lost(f_sq_e, f_max_e) | may_be_the_maximum) == 0;
    if (carried) {
      sq_x.Add(f_sq_x);
      sq_y.Add(f_sq_y);
      xy.Add(f_xy);
      sq_e.Add(f_sq_e);
      abs_e.Add(f_abs_e);
    }
    f_sq_x = f_sq_y = f_xy = f_sq_e = f_abs_e = f_max_e = any_xy = zero;
    return carried;
  }

  void AddExact(__m512 x, __m512 y) {
    for (int half = 0; half < 2; ++half) {
      const __m512d xd = HalfToDouble(x, half), yd = HalfToDouble(y, half);
      const __m512d ed = _mm512_sub_pd(xd, yd);
      const __m512d ad = _mm512_abs_pd(ed);
      sq_x.half[half] = _mm512_fmadd_pd(xd, xd, sq_x.half[half]);
      sq_y.half[half] = _mm512_fmadd_pd(yd, yd, sq_y.half[half]);
      xy.half[half] = _mm512_fmadd_pd(xd, yd, xy.half[half]);
      sq_e.half[half] = _mm512_fmadd_pd(ed, ed, sq_e.half[half]);
      abs_e.half[half] = _mm512_add_pd(abs_e.half[half], ad);
      max_e[half] = _mm512_max_pd(max_e[half], ad);
    }
  }

  // Ends a chunk of AddExact: its maximum is the record the next chunks
  // must beat.
  void EndExactChunk() { max_so_far = std::max(max_so_far, MaxError()); }

  // Adds what was accumulated over `count` elements, `clipped` of them
  // clipped, to sums: the four sums of products in one vector (their
  // fields follow each other), reduced together.
  void AddTo(ErrorSums* sums, int64_t count, int64_t clipped) const {
    if (count == 0) return;
    const __m256d x2 = sq_x.Quarter(), y2 = sq_y.Quarter();
    const __m256d products = xy.Quarter(), e2 = sq_e.Quarter();
    // [x2 0+1, y2 0+1, x2 2+3, y2 2+3] and the same for the other pair.
    const __m256d h0 = _mm256_hadd_pd(x2, y2), h1 = _mm256_hadd_pd(products, e2);
    const __m256d four = _mm256_add_pd(_mm256_permute2f128_pd(h0, h1, 0x20),
                                       _mm256_permute2f128_pd(h0, h1, 0x31));
    _mm256_storeu_pd(&sums->sum_sq_x, _mm256_add_pd(_mm256_loadu_pd(&sums->sum_sq_x), four));
    const __m256d abs4 = abs_e.Quarter();
    __m128d a = _mm_add_pd(_mm256_castpd256_pd128(abs4), _mm256_extractf128_pd(abs4, 1));
    sums->sum_abs_error += _mm_cvtsd_f64(_mm_add_sd(a, _mm_unpackhi_pd(a, a)));
    const double max_abs = MaxError();
    if (max_abs > sums->max_abs_error) sums->max_abs_error = max_abs;
    sums->clipped += clipped;
    sums->count += count;
  }

 private:
  double MaxError() const {
    const __m512d m8 = _mm512_max_pd(max_e[0], max_e[1]);
    const __m256d m4 = _mm256_max_pd(_mm512_castpd512_pd256(m8), _mm512_extractf64x4_pd(m8, 1));
    const __m128d m = _mm_max_pd(_mm256_castpd256_pd128(m4), _mm256_extractf128_pd(m4, 1));
    return _mm_cvtsd_f64(_mm_max_sd(m, _mm_unpackhi_pd(m, m)));
  }

  double max_so_far;
  DoubleLanes sq_x, sq_y, xy, sq_e, abs_e;
  __m512d max_e[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
  __m512 f_sq_x = _mm512_setzero_ps(), f_sq_y = _mm512_setzero_ps(), f_xy = _mm512_setzero_ps();
  __m512 f_sq_e = _mm512_setzero_ps(), f_abs_e = _mm512_setzero_ps(), f_max_e = _mm512_setzero_ps();
  __m512 any_xy = _mm512_setzero_ps();
};

// The clipped lanes of a span, counted per lane: one masked add a vector.
// A lane counts at most one element per vector, and a span (a block of
// the tensor) holds far fewer than 2^31 vectors.
class ClipCounter {
 public:
  void Add(__mmask16 clipped) {
    counts_ = _mm512_mask_add_epi32(counts_, clipped, counts_, _mm512_set1_epi32(1));
  }
  int64_t Total() const {
    const __m512i low = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(counts_));
    const __m512i high = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(counts_, 1));
    return _mm512_reduce_add_epi64(_mm512_add_epi64(low, high));
  }

 private:
  __m512i counts_ = _mm512_setzero_si512();
};

// An integer format's codes and their levels.
struct IntegerCode {
  __m512i code;  // q = clamp(round(v) + zero point, qmin, qmax), as int32.
  __m512 level;  // q - zero point.
};

// The reference's QuantizeInteger; counts the lanes clamped. Zero points
// are integers in [qmin, qmax], so clamping round(v) to [qmin - zp,
// qmax - zp] clamps the same lanes to the same codes, every sum exact, and
// gives the level without converting the code back; adding +0 turns the
// -0 that rounds a small negative v into the reference's +0.
inline IntegerCode IntegerCodes(__m512 v, __m512 zp, Rounding rounding, __m512 qmin, __m512 qmax,
                                ClipCounter* clipped) {
  const __m512 r = Round(v, rounding);
  const __m512 clamped =
      _mm512_min_ps(_mm512_max_ps(r, _mm512_sub_ps(qmin, zp)), _mm512_sub_ps(qmax, zp));
  clipped->Add(_mm512_cmp_ps_mask(clamped, r, _CMP_NEQ_UQ));
  return {_mm512_cvtps_epi32(_mm512_add_ps(clamped, zp)),
          _mm512_add_ps(clamped, _mm512_setzero_ps())};
}

// 16 codes (the low 4 bits of each lane) into 8 bytes, element 2j in the
// low nibble of byte j.
inline void StoreNibbles(std::byte* p, __m512i codes) {
  const __m512i low = _mm512_and_si512(codes, _mm512_set1_epi32(0xf));
  // A 64-bit lane holds elements 2j and 2j + 1; shifting the second one's
  // nibble down to bits 4-7 forms byte j in the lane's low byte.
  const __m512i pairs = _mm512_or_si512(low, _mm512_srli_epi64(low, 28));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm512_cvtepi64_epi8(pairs));
}

// 8 bytes into 16 codes of 4 bits, two's complement ones sign-extended.
inline __m512i LoadNibbles(const std::byte* p, bool is_signed) {
  const __m512i bytes = _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  // Byte j's low nibble to the low half of 64-bit lane j, its high nibble
  // to the high half.
  const __m512i pairs =
      _mm512_or_si512(_mm512_and_si512(bytes, _mm512_set1_epi64(0x0f)),
                      _mm512_slli_epi64(_mm512_and_si512(bytes, _mm512_set1_epi64(0xf0)), 28));
  return is_signed ? _mm512_srai_epi32(_mm512_slli_epi32(pairs, 28), 28) : pairs;
}

// The quantizing loop of every format over the span's first `body`
// elements (a multiple of kLanes): loads x and hands v = x * (1 / scale)
// and the zero points to `encode(v, zp, i, &clipped)`, which stores the
// codes of elements i..i+15, counts the lanes clipped (ClipCounter) and
// returns x' / scale; then stores x' = level * scale and adds the error, a
// chunk of vectors at a time. A chunk whose error the float32 sums cannot
// carry, one holding a non-finite x among them, is quantized again with
// the error in double and every vector checked: the same codes and x' are
// stored again, and its clips are not counted twice. Returns the flat
// index of the first non-finite element, or -1 (what was stored then does
// not matter: the request fails). Everything the loop reads from args is copied
// first: its stores may alias anything, and would otherwise make the
// compiler reload each field on every step.
template <Slots kSlots, typename Encode>
int64_t QuantizeBody(const QuantizeArgs& args, SlotSpan span, int64_t body, ErrorSums* sums,
                     Encode encode) {
  const DType src_dtype = args.src.dtype, deq_dtype = args.deq_dtype;
  const std::byte* const src = args.src.data;
  std::byte* const deq = args.deq;
  SlotValues<kSlots> inv_scales(args.params.inv_scales, span, 1.0f);
  SlotValues<kSlots> scales(args.params.scales, span, 1.0f);
  SlotValues<kSlots> zero_points(args.params.zero_points, span, 0.0f);
  // x' of x, the element at k, with its codes and x' stored.
  const auto round_trip = [&](__m512 x, int64_t k, ClipCounter* clipped) {
    const int64_t i = span.start + k;
    const __m512 level = encode(_mm512_mul_ps(x, inv_scales.At(k)), zero_points.At(k), i, clipped);
    const __m512 y = _mm512_mul_ps(level, scales.At(k));
    if (deq != nullptr) Store(deq_dtype, deq, i, y);
    return y;
  };
  ErrorAccumulator acc(sums->max_abs_error);
  ClipCounter clipped;
  for (int64_t chunk = 0; chunk < body; chunk += kErrorChunk * kLanes) {
    const int64_t end = std::min(body, chunk + kErrorChunk * kLanes);
    for (int64_t k = chunk; k < end; k += kLanes) {
      const __m512 x = Load(src_dtype, src, span.start + k);
      acc.Add(x, round_trip(x, k, &clipped));
    }
    if (acc.EndChunk()) continue;
    ClipCounter clipped_again;
    for (int64_t k = chunk; k < end; k += kLanes) {
      const __m512 x = Load(src_dtype, src, span.start + k);
      if (const __mmask16 bad = NonFinite(x)) return span.start + k + __builtin_ctz(bad);
      acc.AddExact(x, round_trip(x, k, &clipped_again));
    }
    acc.EndExactChunk();
  }
  acc.AddTo(sums, body, clipped.Total());
  return -1;
}

// The reference on the rest of a span from its `done`-th element, if any.
inline int64_t QuantizeRest(const QuantizeArgs& args, SlotSpan span, int64_t done,
                            ErrorSums* sums) {
  if (done == span.count) return -1;
  return KernelsReference().quantize(args, After(span, done), sums);
}

// A whole span of a format of 8 bits or more: the body in SIMD, the tail by
// the reference.
template <typename Encode>
int64_t QuantizeSpan(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums, Encode encode) {
  const int64_t body = span.count / kLanes * kLanes;
  // A run of groups holds whole vectors only.
  if (span.group > 0) return QuantizeBody<Slots::kPerGroup>(args, span, span.count, sums, encode);
  const int64_t bad = span.stride == 0 ? QuantizeBody<Slots::kOne>(args, span, body, sums, encode)
                                       : QuantizeBody<Slots::kPerElement>(args, span, body, sums, encode);
  if (bad >= 0) return bad;
  return QuantizeRest(args, span, body, sums);
}

// The number of leading elements of a 4-bit span that the reference
// handles: one when the span starts at an odd index, since that element
// shares its byte with the span before. The SIMD body then writes whole
// bytes only, and the reference, which keeps the neighbour nibble, the rest.
inline int64_t OddHead(SlotSpan span) { return span.start % 2 != 0 && span.count > 0 ? 1 : 0; }

// A whole span of a 4-bit format: the odd head and the tail by the
// reference, the body in SIMD.
template <typename Encode>
int64_t QuantizeNibbleSpan(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums,
                           Encode encode) {
  const int64_t head = OddHead(span);
  // A run of groups starts a group, at an even index in practice (groups
  // of a multiple of 16, slices at multiples of kSliceAlignment); one that
  // did not would have no place for a head: the reference takes it whole.
  if (span.group > 0 && head > 0) return KernelsReference().quantize(args, span, sums);
  if (head > 0) {
    const int64_t bad = KernelsReference().quantize(
        args, SlotSpan{span.start, head, span.slot, span.stride}, sums);
    if (bad >= 0) return bad;
  }
  return QuantizeSpan(args, After(span, head), sums, encode);
}

// The dequantizing loop over the span's first `body` elements:
// `decode(i, zp)` returns x' / scale of elements i..i+15. Reads nothing of
// args inside the loop, as QuantizeBody.
template <Slots kSlots, typename Decode>
void DequantizeBody(const DequantizeArgs& args, SlotSpan span, int64_t body, Decode decode) {
  const DType dst_dtype = args.dst_dtype;
  std::byte* const dst = args.dst;
  SlotValues<kSlots> scales(args.params.scales, span, 1.0f);
  SlotValues<kSlots> zero_points(args.params.zero_points, span, 0.0f);
  for (int64_t k = 0; k < body; k += kLanes) {
    const int64_t i = span.start + k;
    Store(dst_dtype, dst, i, _mm512_mul_ps(decode(i, zero_points.At(k)), scales.At(k)));
  }
}

// A whole span: the body in SIMD, the tail by the reference.
template <typename Decode>
void DequantizeSpan(const DequantizeArgs& args, SlotSpan span, Decode decode) {
  // A run of groups holds whole vectors only.
  if (span.group > 0) return DequantizeBody<Slots::kPerGroup>(args, span, span.count, decode);
  const int64_t body = span.count / kLanes * kLanes;
  if (span.stride == 0) {
    DequantizeBody<Slots::kOne>(args, span, body, decode);
  } else {
    DequantizeBody<Slots::kPerElement>(args, span, body, decode);
  }
  if (body < span.count) KernelsReference().dequantize(args, After(span, body));
}

// The same for a 4-bit format, whose odd head the reference decodes.
template <typename Decode>
void DequantizeNibbleSpan(const DequantizeArgs& args, SlotSpan span, Decode decode) {
  const int64_t head = OddHead(span);
  // As in QuantizeNibbleSpan.
  if (span.group > 0 && head > 0) return KernelsReference().dequantize(args, span);
  if (head > 0) {
    KernelsReference().dequantize(args, SlotSpan{span.start, head, span.slot, span.stride});
  }
  DequantizeSpan(args, After(span, head), decode);
}

}  // namespace
}  // namespace quantd

#endif  // QUANTD_KERNELS_AVX512_SIMD_AVX512_H_
