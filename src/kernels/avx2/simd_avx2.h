// The AVX2 kernels' building blocks: loads and stores of the float dtypes,
// rounding, per-slot parameters, the finiteness check, the error-sum
// accumulators, 4-bit packing, and the loops over a span that every format
// shares (SIMD body, reference head and tail).
//
// Only for files compiled with the AVX2 flags (src/CMakeLists.txt).
// Everything here is in an unnamed namespace: each of those files keeps its
// own copy, so no AVX2 code can be merged by the linker into a function
// that files without these flags call (see kernels/kernels.h).
#ifndef QUANTD_KERNELS_AVX2_SIMD_AVX2_H_
#define QUANTD_KERNELS_AVX2_SIMD_AVX2_H_

#include <immintrin.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace quantd {
namespace {

constexpr int64_t kLanes = 8;

inline __m256 Load(DType dtype, const std::byte* data, int64_t i) {
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
inline __m128i Narrow32To16(__m256i v, bool is_unsigned) {
  const __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
  return is_unsigned ? _mm_packus_epi32(lo, hi) : _mm_packs_epi32(lo, hi);
}

// Eight int32 values in 0..255 to the low eight bytes.
inline __m128i Narrow32To8(__m256i v) {
  const __m128i w = Narrow32To16(v, true);
  return _mm_packus_epi16(w, w);
}

inline void Store(DType dtype, std::byte* data, int64_t i, __m256 y) {
  switch (dtype) {
    case DType::kFloat16:
      _mm_storeu_si128(reinterpret_cast<__m128i*>(data + 2 * i),
                       _mm256_cvtps_ph(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      break;
    case DType::kBFloat16: {
      // Round to nearest even, as the reference FloatToBFloat16Bits. The
      // only NaN a kernel stores is the quiet default NaN (a decoded NaN
      // code times a scale), which this keeps as the reference does: its
      // low half is zero.
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

inline __m256 Round(__m256 v, Rounding rounding) {
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
// the loop, for kPerElement the 8 values of elements k..k+7, for a
// run of groups a broadcast made again when k enters another group (k only
// moves forward, except back to a chunk's start); `absent` where the
// parameter is not given.
template <Slots kSlots>
class SlotValues {
 public:
  SlotValues(const float* values, SlotSpan span, float absent)
      : values_(values == nullptr ? nullptr : values + span.slot),
        group_(span.group),
        constant_(_mm256_set1_ps(values == nullptr || kSlots == Slots::kPerElement ? absent
                                                                               : values[span.slot])) {}

  __m256 At(int64_t k) {
    if constexpr (kSlots == Slots::kPerElement) {
      if (values_ != nullptr) return _mm256_loadu_ps(values_ + k);
    }
    if constexpr (kSlots == Slots::kPerGroup) {
      if (values_ != nullptr && (k < group_start_ || k >= group_start_ + group_)) {
        group_start_ = k / group_ * group_;
        constant_ = _mm256_set1_ps(values_[k / group_]);
      }
    }
    return constant_;
  }

 private:
  const float* values_;
  int64_t group_;
  int64_t group_start_ = 0;
  __m256 constant_;
};

// A bit per lane holding NaN or an infinity: x - x is NaN exactly there.
inline int NonFinite(__m256 x) {
  const __m256 d = _mm256_sub_ps(x, x);
  return _mm256_movemask_ps(_mm256_cmp_ps(d, d, _CMP_UNORD_Q));
}

// The number of lanes whose mask (all ones or zero) is set.
inline int CountLanes(__m256 mask) { return __builtin_popcount(_mm256_movemask_ps(mask)); }
inline int CountLanes(__m256i mask) { return CountLanes(_mm256_castsi256_ps(mask)); }

inline double ReduceAdd(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

inline double ReduceMaxPd(__m256d v) {
  __m128d s = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
}

// ErrorAccumulator::AddTo adds to these four as one vector.
static_assert(offsetof(ErrorSums, sum_sq_y) == offsetof(ErrorSums, sum_sq_x) + 8 &&
              offsetof(ErrorSums, sum_xy) == offsetof(ErrorSums, sum_sq_x) + 16 &&
              offsetof(ErrorSums, sum_sq_error) == offsetof(ErrorSums, sum_sq_x) + 24);

// A vector of doubles per half of a float vector: two accumulators, so that
// consecutive additions do not wait on each other.
inline __m256d HalfToDouble(__m256 v, int half) {
  return _mm256_cvtps_pd(half ? _mm256_extractf128_ps(v, 1) : _mm256_castps256_ps128(v));
}

struct DoubleLanes {
  __m256d half[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  void Add(__m256 v) {
    half[0] = _mm256_add_pd(half[0], HalfToDouble(v, 0));
    half[1] = _mm256_add_pd(half[1], HalfToDouble(v, 1));
  }
  __m256d Sum() const { return _mm256_add_pd(half[0], half[1]); }
};

// The error of x against x' (y), in two stages, as the AVX-512 kernels
// keep it (see there): float32 sums per lane over kErrorChunk vectors,
// then double sums per lane; a chunk that the float32 sums cannot carry
// (beyond float32's range, squares losing their digits, or an error that
// may be the largest so far) is summed again in double by AddExact, as the
// reference sums.
constexpr int kErrorChunk = 16;

struct ErrorAccumulator {
  explicit ErrorAccumulator(double max_so_far) : max_so_far(max_so_far) {}

  void Add(__m256 x, __m256 y) {
    const __m256 e = _mm256_sub_ps(x, y), abs_e = _mm256_and_ps(e, AbsMask());
    f_sq_x = _mm256_fmadd_ps(x, x, f_sq_x);
    f_sq_y = _mm256_fmadd_ps(y, y, f_sq_y);
    f_xy = _mm256_fmadd_ps(x, y, f_xy);
    f_sq_e = _mm256_fmadd_ps(e, e, f_sq_e);
    f_abs_e = _mm256_add_ps(f_abs_e, abs_e);
    f_max_e = _mm256_max_ps(f_max_e, abs_e);
    // The bits of every x and y or-ed together: whether a lane saw a
    // non-zero one (one for both, as in the AVX-512 kernels).
    any_xy = _mm256_or_ps(any_xy, _mm256_or_ps(x, y));
  }

  // Ends a chunk of Add: true when its float32 sums were added to the
  // double ones; false when they were dropped, and the chunk's vectors
  // must be given to AddExact. A chunk holding a non-finite x is always
  // refused: x² is non-finite too.
  bool EndChunk() {
    const __m256 zero = _mm256_setzero_ps(), tiny = _mm256_set1_ps(0x1p-100f);
    const auto non_finite = [](__m256 v) {
      return _mm256_cmp_ps(_mm256_and_ps(v, AbsMask()), _mm256_set1_ps(INFINITY), _CMP_NLT_UQ);
    };
    // As in the AVX-512 kernels: below 2^-100 a lane's sum may have lost
    // squares under FLT_MIN, if the lane saw a non-zero value.
    // The bits compared as integers: or-ed bits may read as a NaN.
    const auto lost = [&](__m256 sum, __m256 any) {
      const __m256i magnitude = _mm256_castps_si256(_mm256_and_ps(any, AbsMask()));
      const __m256 all_zero =
          _mm256_castsi256_ps(_mm256_cmpeq_epi32(magnitude, _mm256_setzero_si256()));
      return _mm256_andnot_ps(all_zero, _mm256_cmp_ps(sum, tiny, _CMP_LT_OQ));
    };
    const __m256 record = _mm256_set1_ps(static_cast<float>(std::min(max_so_far, double{FLT_MAX})));
    const __m256 raised = _mm256_mul_ps(f_max_e, _mm256_set1_ps(1.0f + 0x1p-18f));
    const __m256 may_be_the_maximum = _mm256_and_ps(_mm256_cmp_ps(raised, record, _CMP_GE_OQ),
                                                    _mm256_cmp_ps(f_max_e, zero, _CMP_GT_OQ));
    const __m256 refused = _mm256_or_ps(
        _mm256_or_ps(_mm256_or_ps(non_finite(f_sq_x), non_finite(f_sq_y)),
                     _mm256_or_ps(non_finite(f_xy),
                                  _mm256_or_ps(non_finite(f_sq_e), non_finite(f_abs_e)))),
        _mm256_or_ps(_mm256_or_ps(lost(f_sq_x, any_xy), lost(f_sq_y, any_xy)),
                     _mm256_or_ps(lost(f_sq_e, f_max_e), may_be_the_maximum)));
    const bool carried = _mm256_movemask_ps(refused) == 0;
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

  void AddExact(__m256 x, __m256 y) {
    const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    for (int half = 0; half < 2; ++half) {
      const __m256d xd = HalfToDouble(x, half), yd = HalfToDouble(y, half);
      const __m256d ed = _mm256_sub_pd(xd, yd);
      const __m256d ad = _mm256_and_pd(ed, abs_mask);
      sq_x.half[half] = _mm256_fmadd_pd(xd, xd, sq_x.half[half]);
      sq_y.half[half] = _mm256_fmadd_pd(yd, yd, sq_y.half[half]);
      xy.half[half] = _mm256_fmadd_pd(xd, yd, xy.half[half]);
      sq_e.half[half] = _mm256_fmadd_pd(ed, ed, sq_e.half[half]);
      abs_e.half[half] = _mm256_add_pd(abs_e.half[half], ad);
      max_e[half] = _mm256_max_pd(max_e[half], ad);
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
    const __m256d x2 = sq_x.Sum(), y2 = sq_y.Sum(), products = xy.Sum(), e2 = sq_e.Sum();
    // [x2 0+1, y2 0+1, x2 2+3, y2 2+3] and the same for the other pair.
    const __m256d h0 = _mm256_hadd_pd(x2, y2), h1 = _mm256_hadd_pd(products, e2);
    const __m256d four = _mm256_add_pd(_mm256_permute2f128_pd(h0, h1, 0x20),
                                       _mm256_permute2f128_pd(h0, h1, 0x31));
    _mm256_storeu_pd(&sums->sum_sq_x, _mm256_add_pd(_mm256_loadu_pd(&sums->sum_sq_x), four));
    sums->sum_abs_error += ReduceAdd(abs_e.Sum());
    const double max_abs = MaxError();
    if (max_abs > sums->max_abs_error) sums->max_abs_error = max_abs;
    sums->clipped += clipped;
    sums->count += count;
  }

 private:
  static __m256 AbsMask() { return _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)); }
  double MaxError() const { return ReduceMaxPd(_mm256_max_pd(max_e[0], max_e[1])); }

  double max_so_far;
  DoubleLanes sq_x, sq_y, xy, sq_e, abs_e;
  __m256d max_e[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  __m256 f_sq_x = _mm256_setzero_ps(), f_sq_y = _mm256_setzero_ps(), f_xy = _mm256_setzero_ps();
  __m256 f_sq_e = _mm256_setzero_ps(), f_abs_e = _mm256_setzero_ps(), f_max_e = _mm256_setzero_ps();
  __m256 any_xy = _mm256_setzero_ps();
};

// The clipped lanes of a span, counted per lane: one subtraction of the
// comparison's all-ones (-1) lanes a vector. A lane counts at most one
// element per vector, and a span (a block of the tensor) holds far fewer
// than 2^31 vectors.
class ClipCounter {
 public:
  void Add(__m256i clipped) { counts_ = _mm256_sub_epi32(counts_, clipped); }
  void Add(__m256 clipped) { Add(_mm256_castps_si256(clipped)); }
  int64_t Total() const {
    const __m256i wide = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(counts_)),
                                          _mm256_cvtepi32_epi64(_mm256_extracti128_si256(counts_, 1)));
    const __m128i two = _mm_add_epi64(_mm256_castsi256_si128(wide), _mm256_extracti128_si256(wide, 1));
    return _mm_cvtsi128_si64(two) + _mm_extract_epi64(two, 1);
  }

 private:
  __m256i counts_ = _mm256_setzero_si256();
};

// An integer format's codes and their levels.
struct IntegerCode {
  __m256i code;  // q = clamp(round(v) + zero point, qmin, qmax), as int32.
  __m256 level;  // q - zero point.
};

// The reference's QuantizeInteger; counts the lanes clamped. As in the
// AVX-512 kernels: round(v) clamped to [qmin - zp, qmax - zp] is the level,
// +0 where rounding a small negative v gave -0.
inline IntegerCode IntegerCodes(__m256 v, __m256 zp, Rounding rounding, __m256 qmin, __m256 qmax,
                                ClipCounter* clipped) {
  const __m256 r = Round(v, rounding);
  const __m256 clamped =
      _mm256_min_ps(_mm256_max_ps(r, _mm256_sub_ps(qmin, zp)), _mm256_sub_ps(qmax, zp));
  clipped->Add(_mm256_cmp_ps(clamped, r, _CMP_NEQ_UQ));
  return {_mm256_cvtps_epi32(_mm256_add_ps(clamped, zp)),
          _mm256_add_ps(clamped, _mm256_setzero_ps())};
}

// 8 codes (the low 4 bits of each lane) into 4 bytes, element 2j in the low
// nibble of byte j.
inline void StoreNibbles(std::byte* p, __m256i codes) {
  const __m256i low = _mm256_and_si256(codes, _mm256_set1_epi32(0xf));
  // A 64-bit lane holds elements 2j and 2j + 1; shifting the second one's
  // nibble down to bits 4-7 forms byte j in the lane's low byte.
  const __m256i pairs = _mm256_or_si256(low, _mm256_srli_epi64(low, 28));
  // Bytes 0 and 8 of each 128-bit half to its bytes 0 and 1.
  const __m256i gathered = _mm256_shuffle_epi8(
      pairs, _mm256_setr_epi8(0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                              0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m128i bytes = _mm_unpacklo_epi16(_mm256_castsi256_si128(gathered),
                                           _mm256_extracti128_si256(gathered, 1));
  _mm_storeu_si32(p, bytes);
}

// 4 bytes into 8 codes of 4 bits, two's complement ones sign-extended.
inline __m256i LoadNibbles(const std::byte* p, bool is_signed) {
  const __m256i bytes = _mm256_cvtepu8_epi64(_mm_loadu_si32(p));
  // Byte j's low nibble to the low half of 64-bit lane j, its high nibble
  // to the high half.
  const __m256i pairs =
      _mm256_or_si256(_mm256_and_si256(bytes, _mm256_set1_epi64x(0x0f)),
                      _mm256_slli_epi64(_mm256_and_si256(bytes, _mm256_set1_epi64x(0xf0)), 28));
  return is_signed ? _mm256_srai_epi32(_mm256_slli_epi32(pairs, 28), 28) : pairs;
}

// The quantizing loop of every format over the span's first `body`
// elements (a multiple of kLanes): loads x and hands v = x * (1 / scale)
// and the zero points to `encode(v, zp, i, &clipped)`, which stores the
// codes of elements i..i+7, counts the lanes clipped (ClipCounter) and
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
  const auto round_trip = [&](__m256 x, int64_t k, ClipCounter* clipped) {
    const int64_t i = span.start + k;
    const __m256 level = encode(_mm256_mul_ps(x, inv_scales.At(k)), zero_points.At(k), i, clipped);
    const __m256 y = _mm256_mul_ps(level, scales.At(k));
    if (deq != nullptr) Store(deq_dtype, deq, i, y);
    return y;
  };
  ErrorAccumulator acc(sums->max_abs_error);
  ClipCounter clipped;
  for (int64_t chunk = 0; chunk < body; chunk += kErrorChunk * kLanes) {
    const int64_t end = std::min(body, chunk + kErrorChunk * kLanes);
    for (int64_t k = chunk; k < end; k += kLanes) {
      const __m256 x = Load(src_dtype, src, span.start + k);
      acc.Add(x, round_trip(x, k, &clipped));
    }
    if (acc.EndChunk()) continue;
    ClipCounter clipped_again;
    for (int64_t k = chunk; k < end; k += kLanes) {
      const __m256 x = Load(src_dtype, src, span.start + k);
      if (const int bad = NonFinite(x)) return span.start + k + __builtin_ctz(bad);
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
// `decode(i, zp)` returns x' / scale of elements i..i+7. Reads nothing of
// args inside the loop, as QuantizeBody.
template <Slots kSlots, typename Decode>
void DequantizeBody(const DequantizeArgs& args, SlotSpan span, int64_t body, Decode decode) {
  const DType dst_dtype = args.dst_dtype;
  std::byte* const dst = args.dst;
  SlotValues<kSlots> scales(args.params.scales, span, 1.0f);
  SlotValues<kSlots> zero_points(args.params.zero_points, span, 0.0f);
  for (int64_t k = 0; k < body; k += kLanes) {
    const int64_t i = span.start + k;
    Store(dst_dtype, dst, i, _mm256_mul_ps(decode(i, zero_points.At(k)), scales.At(k)));
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

#endif  // QUANTD_KERNELS_AVX2_SIMD_AVX2_H_
