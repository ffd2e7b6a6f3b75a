// AVX-512 VNNI direct-path kernels (gemm.h's RowsTile and RowsProduct): the
// weights stream from their [N, K] source through registers once, each
// 64-byte chunk multiplied into every row's accumulator, and the 16 lanes
// of each (row, column) sum are added up once at the end of the span. For
// few rows the product is bound by reading the weights, so the loop is
// built around one weight load per column per step. The whole product keeps
// a block's float64 results in registers across the spans: with 4-bit
// groups of 128 k a span is two loads per column, and a call and an
// epilogue through memory per span cost more than the sums.
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

// GCC 12 warns falsely about its own _mm512_undefined_* inside
// _mm512_reduce_add_epi32 (the plain form of the warning that
// -Wno-maybe-uninitialized in src/CMakeLists.txt silences).
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace quantd {
namespace {

// How far ahead of the loads 8-bit weight rows are prefetched: each block
// reads several rows at once, more streams than the hardware prefetcher
// follows well. (4-bit rows are not: there the loop is bound by its
// instructions, and the prefetch measured no faster.)
constexpr int64_t kPrefetchBytes = 1024;

// Bytes [0, n) of p, n <= 64; nothing past them is read.
__m512i LoadPrefix(const void* p, int64_t n) {
  const __mmask64 mask = n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
  return _mm512_maskz_loadu_epi8(mask, p);
}

// The lane sums of C <= 8 accumulators in lanes [0, C): halves added, then
// a tree of horizontal adds that sums eight registers in 25 instructions
// rather than eight separate reductions of about 8 each. For few rows and
// short spans (4-bit groups of 128 k are two loads per column) this is a
// large part of the work.
template <int C>
__m256i LaneSums(const __m512i (&acc)[C]) {
  __m256i h[8];
  for (int c = 0; c < 8; ++c) {
    h[c] = c < C ? _mm256_add_epi32(_mm512_castsi512_si256(acc[c]),
                                    _mm512_extracti64x4_epi64(acc[c], 1))
                 : _mm256_setzero_si256();
  }
  const __m256i s01 = _mm256_hadd_epi32(h[0], h[1]), s23 = _mm256_hadd_epi32(h[2], h[3]);
  const __m256i s03 = _mm256_hadd_epi32(s01, s23);
  if constexpr (C <= 4) {  // Half the tree; the upper lanes are never stored.
    return _mm256_castsi128_si256(
        _mm_add_epi32(_mm256_castsi256_si128(s03), _mm256_extracti128_si256(s03, 1)));
  }
  const __m256i s45 = _mm256_hadd_epi32(h[4], h[5]), s67 = _mm256_hadd_epi32(h[6], h[7]);
  const __m256i s47 = _mm256_hadd_epi32(s45, s67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(s03, s47, 0x20),
                          _mm256_permute2x128_si256(s03, s47, 0x31));
}

template <int C>
constexpr __mmask8 kColumnMask = static_cast<__mmask8>((1u << C) - 1);

// R rows x C columns of accumulators: C weight loads and R (S8) or 2 R
// (U4) activation loads feed R x C (or 2 R x C) vpdpbusd per step.
template <int R, int C>
struct Sums {
  __m512i v[R][C];
  Sums() {
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) v[r][c] = _mm512_setzero_si512();
    }
  }
};

// Adds (inlined, so that the accumulators stay in registers) the k bytes of row r's activations at
// a + r * lda against the weight rows at w + c * ldw into sums.
template <int R, int C>
[[gnu::always_inline]] inline void AccumulateS8(Sums<R, C>& sums, const uint8_t* a, int64_t lda,
                                                const uint8_t* w, int64_t ldw, int64_t k_count,
                                                uint8_t xor_mask) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(xor_mask));
  auto step = [&](int64_t k, int64_t n) {
    __m512i x[R];
    for (int r = 0; r < R; ++r) x[r] = LoadPrefix(a + r * lda + k, n);
    for (int c = 0; c < C; ++c) {
      // Masked-off bytes load as 0 and flip to xor_mask, but meet zero
      // activations there.
      const __m512i v = _mm512_xor_si512(LoadPrefix(w + c * ldw + k, n), flip);
      for (int r = 0; r < R; ++r) sums.v[r][c] = _mm512_dpbusd_epi32(sums.v[r][c], v, x[r]);
    }
  };
  int64_t k = 0;
  for (; k + 64 <= k_count; k += 64) {
    __m512i x[R];
    for (int r = 0; r < R; ++r) x[r] = _mm512_loadu_si512(a + r * lda + k);
    for (int c = 0; c < C; ++c) {
      _mm_prefetch(reinterpret_cast<const char*>(w + c * ldw + k) + kPrefetchBytes, _MM_HINT_T0);
      const __m512i v = _mm512_xor_si512(_mm512_loadu_si512(w + c * ldw + k), flip);
      for (int r = 0; r < R; ++r) sums.v[r][c] = _mm512_dpbusd_epi32(sums.v[r][c], v, x[r]);
    }
  }
  if (k < k_count) step(k, k_count - k);
}

// The same for 4-bit weights: k_count / 2 bytes per weight row, the
// activations in blocks of 128 k (even k, then odd).
template <int R, int C>
[[gnu::always_inline]] inline void AccumulateU4(Sums<R, C>& sums, const uint8_t* a, int64_t lda,
                                                const uint8_t* w, int64_t ldw, int64_t k_count,
                                                uint8_t xor_mask) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(xor_mask));
  const __m512i low = _mm512_set1_epi8(0x0F);
  // (x ^ flip) & low in one instruction.
  constexpr int kXorAnd = (0xF0 ^ 0xCC) & 0xAA;
  // One block of 128 k: the weights' 64 bytes (n of them in a span's
  // last block) against the rows' even and odd activations.
  auto block = [&](int64_t k, int64_t n, bool whole) {
    __m512i even[R], odd[R];
    for (int r = 0; r < R; ++r) {
      even[r] = _mm512_loadu_si512(a + r * lda + k);
      odd[r] = _mm512_loadu_si512(a + r * lda + k + kRowsBlockK / 2);
    }
    for (int c = 0; c < C; ++c) {
      const uint8_t* p = w + c * ldw + k / 2;
      const __m512i v = whole ? _mm512_loadu_si512(p) : LoadPrefix(p, n);
      const __m512i lo = _mm512_ternarylogic_epi32(v, flip, low, kXorAnd);
      const __m512i hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(v, 4), flip, low, kXorAnd);
      for (int r = 0; r < R; ++r) {
        sums.v[r][c] = _mm512_dpbusd_epi32(sums.v[r][c], lo, even[r]);
        sums.v[r][c] = _mm512_dpbusd_epi32(sums.v[r][c], hi, odd[r]);
      }
    }
  };
  int64_t k = 0;
  for (; k + kRowsBlockK <= k_count; k += kRowsBlockK) block(k, 64, true);
  if (k < k_count) block(k, (k_count - k) / 2, false);
}

// Bytes of weight row per k: the S8 and U4 forms of the loops.
struct S8 {
  template <int R, int C>
  [[gnu::always_inline]] static void Accumulate(Sums<R, C>& sums, const uint8_t* a, int64_t lda,
                                                const uint8_t* w, int64_t ldw, int64_t k,
                                                uint8_t xor_mask) {
    AccumulateS8(sums, a, lda, w, ldw, k, xor_mask);
  }
};
struct U4 {
  template <int R, int C>
  [[gnu::always_inline]] static void Accumulate(Sums<R, C>& sums, const uint8_t* a, int64_t lda,
                                                const uint8_t* w, int64_t ldw, int64_t k,
                                                uint8_t xor_mask) {
    AccumulateU4(sums, a, lda, w, ldw, k, xor_mask);
  }
};

// dot_rows: one span's sums stored as int32.
template <class Kind, int R, int C>
void DotBlock(const RowsTile& t, int64_t m0, int64_t j0) {
  Sums<R, C> sums;
  Kind::Accumulate(sums, t.a + m0 * t.lda, t.lda,
                   reinterpret_cast<const uint8_t*>(t.w) + j0 * t.ldw, t.ldw, t.k, t.xor_mask);
  for (int r = 0; r < R; ++r) {
    _mm256_mask_storeu_epi32(t.d + (m0 + r) * t.ldd + j0, kColumnMask<C>, LaneSums<C>(sums.v[r]));
  }
}

// Reads the columns' parameters where the request holds them: contiguous,
// one for all, or gathered (per-group parameters of a [N, K] tensor lie a
// row of groups apart; copying them into a staging block per column block
// instead, tried, cost more than the gather). Lanes past C are not read.
template <int C>
class ColumnReader {
 public:
  explicit ColumnReader(int64_t stride)
      : stride_(stride),
        index_(_mm512_mullo_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
                                  _mm512_set1_epi64(stride))) {}

  // p[j * stride] for j < C, as float64.
  __m512d Floats(const float* p) const {
    if (stride_ == 1) return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(kColumnMask<C>, p));
    if (stride_ == 0) return _mm512_set1_pd(*p);
    return _mm512_cvtps_pd(
        _mm512_mask_i64gather_ps(_mm256_setzero_ps(), kColumnMask<C>, index_, p, 4));
  }
  __m256i Ints(const int32_t* p) const {
    if (stride_ == 1) return _mm256_maskz_loadu_epi32(kColumnMask<C>, p);
    if (stride_ == 0) return _mm256_set1_epi32(*p);
    return _mm512_mask_i64gather_epi32(_mm256_setzero_si256(), kColumnMask<C>, index_, p, 4);
  }

 private:
  int64_t stride_;
  __m512i index_;
};

// rows_product: every span's sums scaled into float64 registers, one
// (row, column block) of y stored once at the end.
template <class Kind, int R, int C>
void ProductBlock(const RowsProduct& p, int64_t m0, int64_t j0) {
  if (p.span_count == 0) return;
  __m512d y[R];
  const uint8_t* a = p.a + m0 * p.lda;
  const uint8_t* w = reinterpret_cast<const uint8_t*>(p.w) + j0 * p.ldw;
  const ColumnReader<C> scales(p.col_scale_stride), zeros(p.col_zero_stride);
  const __m256i shift = _mm256_set1_epi32(p.zero_shift);
  const __m512d shift_only = _mm512_cvtepi32_pd(shift);
  for (int64_t s = 0; s < p.span_count; ++s) {
    const RowsSpan& span = p.spans[s];
    Sums<R, C> sums;
    Kind::Accumulate(sums, a + span.a_offset, p.lda, w + span.w_offset, p.ldw, span.k, p.xor_mask);
    const __m512d col_zero = p.has_zero_points
                                 ? _mm512_cvtepi32_pd(_mm256_add_epi32(
                                       zeros.Ints(span.col_zero + j0 * p.col_zero_stride), shift))
                                 : shift_only;
    const __m512d col_scale = scales.Floats(span.col_scale + j0 * p.col_scale_stride);
    for (int r = 0; r < R; ++r) {
      const __m512d dot = _mm512_cvtepi32_pd(LaneSums<C>(sums.v[r]));
      const __m512d exact =
          _mm512_add_pd(dot, _mm512_mul_pd(col_zero, _mm512_set1_pd(span.row_term[m0 + r])));
      const __m512d scale = _mm512_mul_pd(_mm512_set1_pd(p.row_scale[m0 + r]), col_scale);
      const __m512d term = _mm512_mul_pd(scale, exact);
      y[r] = s == 0 ? term : _mm512_add_pd(y[r], term);
    }
  }
  for (int r = 0; r < R; ++r)
    _mm512_mask_storeu_pd(p.y + (m0 + r) * p.ldy + j0, kColumnMask<C>, y[r]);
}

template <class Kind, int R, int C>
struct Dot {
  static void Run(const RowsTile& t, int64_t m0, int64_t j0) { DotBlock<Kind, R, C>(t, m0, j0); }
};
template <class Kind, int R, int C>
struct Product {
  static void Run(const RowsProduct& p, int64_t m0, int64_t j0) {
    ProductBlock<Kind, R, C>(p, m0, j0);
  }
};

// Rows in blocks of up to 4 and columns in blocks of C, C = 8 for one row
// (more weight streams in flight) and 4 otherwise (16 accumulators);
// the remainders run narrower instances of the same loop.
template <template <int, int> class Block, int R, class Args>
void RunRows(const Args& t, int64_t m0) {
  constexpr int C = R == 1 ? 8 : 4;
  int64_t j = 0;
  for (; j + C <= t.columns; j += C) Block<R, C>::Run(t, m0, j);
  for (; j < t.columns; ++j) Block<R, 1>::Run(t, m0, j);
}

template <template <int, int> class Block, class Args>
void Dispatch(const Args& t) {
  int64_t m = 0;
  for (; m + 4 <= t.rows; m += 4) RunRows<Block, 4>(t, m);
  switch (t.rows - m) {
    case 3:
      RunRows<Block, 3>(t, m);
      break;
    case 2:
      RunRows<Block, 2>(t, m);
      break;
    case 1:
      RunRows<Block, 1>(t, m);
      break;
    default:
      break;
  }
}

template <int R, int C>
using DotS8 = Dot<S8, R, C>;
template <int R, int C>
using DotU4 = Dot<U4, R, C>;
template <int R, int C>
using ProductS8 = Product<S8, R, C>;
template <int R, int C>
using ProductU4 = Product<U4, R, C>;

}  // namespace

void DotRowsS8Avx512Vnni(const RowsTile& tile) { Dispatch<DotS8>(tile); }
void DotRowsU4Avx512Vnni(const RowsTile& tile) { Dispatch<DotU4>(tile); }
void RowsProductS8Avx512Vnni(const RowsProduct& product) { Dispatch<ProductS8>(product); }
void RowsProductU4Avx512Vnni(const RowsProduct& product) { Dispatch<ProductU4>(product); }

}  // namespace quantd
