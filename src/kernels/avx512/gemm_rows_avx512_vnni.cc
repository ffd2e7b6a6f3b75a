// AVX-512 VNNI direct-path dot products (gemm.h's RowsTile): the weights
// stream from their [N, K] source through registers once, each 64-byte
// chunk multiplied into every row's accumulator, and the 16 lanes of each
// (row, column) sum are added up once at the end of the span. For few rows
// the product is bound by reading the weights, so the loop is built around
// one weight load per column per step.
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

// How far ahead of the loads the weight rows are prefetched: each block
// reads several rows at once, more streams than the hardware prefetcher
// follows well.
constexpr int64_t kPrefetchBytes = 1024;

// Bytes [0, n) of p, n <= 64; nothing past them is read.
__m512i LoadPrefix(const void* p, int64_t n) {
  const __mmask64 mask = n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
  return _mm512_maskz_loadu_epi8(mask, p);
}

// The lane sums of C <= 8 accumulators into out[0, C): halves added, then
// a tree of horizontal adds that sums eight registers in 25 instructions
// rather than eight separate reductions of about 8 each. For few rows and
// short spans (4-bit groups of 128 k are two loads per column) this is a
// large part of the work.
template <int C>
void StoreSums(const __m512i (&acc)[C], int32_t* out) {
  __m256i h[8];
  for (int c = 0; c < 8; ++c) {
    h[c] = c < C ? _mm256_add_epi32(_mm512_castsi512_si256(acc[c]),
                                    _mm512_extracti64x4_epi64(acc[c], 1))
                 : _mm256_setzero_si256();
  }
  const __m256i s01 = _mm256_hadd_epi32(h[0], h[1]), s23 = _mm256_hadd_epi32(h[2], h[3]);
  const __m256i s45 = _mm256_hadd_epi32(h[4], h[5]), s67 = _mm256_hadd_epi32(h[6], h[7]);
  const __m256i s03 = _mm256_hadd_epi32(s01, s23), s47 = _mm256_hadd_epi32(s45, s67);
  const __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(s03, s47, 0x20),
                                        _mm256_permute2x128_si256(s03, s47, 0x31));
  _mm256_mask_storeu_epi32(out, static_cast<__mmask8>((1u << C) - 1), sums);
}

// R rows x C columns of accumulators: C weight loads and R (S8) or 2 R
// (U4) activation loads feed R x C (or 2 R x C) vpdpbusd per step.
template <int R, int C>
void RowsS8Block(const RowsTile& t, int64_t m0, int64_t j0) {
  __m512i sum[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) sum[r][c] = _mm512_setzero_si512();
  }
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(t.xor_mask));
  const uint8_t* a = t.a + m0 * t.lda;
  const auto* w = reinterpret_cast<const uint8_t*>(t.w) + j0 * t.ldw;
  auto step = [&](int64_t k, int64_t n) {
    __m512i x[R];
    for (int r = 0; r < R; ++r) x[r] = LoadPrefix(a + r * t.lda + k, n);
    for (int c = 0; c < C; ++c) {
      // Masked-off bytes load as 0 and flip to xor_mask, but meet zero
      // activations there.
      const __m512i v = _mm512_xor_si512(LoadPrefix(w + c * t.ldw + k, n), flip);
      for (int r = 0; r < R; ++r) sum[r][c] = _mm512_dpbusd_epi32(sum[r][c], v, x[r]);
    }
  };
  int64_t k = 0;
  for (; k + 64 <= t.k; k += 64) {
    __m512i x[R];
    for (int r = 0; r < R; ++r) x[r] = _mm512_loadu_si512(a + r * t.lda + k);
    for (int c = 0; c < C; ++c) {
      _mm_prefetch(reinterpret_cast<const char*>(w + c * t.ldw + k) + kPrefetchBytes, _MM_HINT_T0);
      const __m512i v = _mm512_xor_si512(_mm512_loadu_si512(w + c * t.ldw + k), flip);
      for (int r = 0; r < R; ++r) sum[r][c] = _mm512_dpbusd_epi32(sum[r][c], v, x[r]);
    }
  }
  if (k < t.k) step(k, t.k - k);
  for (int r = 0; r < R; ++r) StoreSums<C>(sum[r], t.d + (m0 + r) * t.ldd + j0);
}

template <int R, int C>
void RowsU4Block(const RowsTile& t, int64_t m0, int64_t j0) {
  __m512i sum[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) sum[r][c] = _mm512_setzero_si512();
  }
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(t.xor_mask));
  const __m512i low = _mm512_set1_epi8(0x0F);
  const uint8_t* a = t.a + m0 * t.lda;
  const auto* w = reinterpret_cast<const uint8_t*>(t.w) + j0 * t.ldw;
  // One block of 128 k: the weights' 64 bytes (n of them in a span's
  // last block) against the rows' even and odd activations.
  auto block = [&](int64_t k, int64_t n, bool whole) {
    __m512i even[R], odd[R];
    for (int r = 0; r < R; ++r) {
      even[r] = _mm512_loadu_si512(a + r * t.lda + k);
      odd[r] = _mm512_loadu_si512(a + r * t.lda + k + kRowsBlockK / 2);
    }
    for (int c = 0; c < C; ++c) {
      const uint8_t* p = w + c * t.ldw + k / 2;
      _mm_prefetch(reinterpret_cast<const char*>(p) + kPrefetchBytes, _MM_HINT_T0);
      const __m512i v = _mm512_xor_si512(whole ? _mm512_loadu_si512(p) : LoadPrefix(p, n), flip);
      const __m512i lo = _mm512_and_si512(v, low);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
      for (int r = 0; r < R; ++r) {
        sum[r][c] = _mm512_dpbusd_epi32(sum[r][c], lo, even[r]);
        sum[r][c] = _mm512_dpbusd_epi32(sum[r][c], hi, odd[r]);
      }
    }
  };
  int64_t k = 0;
  for (; k + kRowsBlockK <= t.k; k += kRowsBlockK) block(k, 64, true);
  if (k < t.k) block(k, (t.k - k) / 2, false);
  for (int r = 0; r < R; ++r) StoreSums<C>(sum[r], t.d + (m0 + r) * t.ldd + j0);
}

// Rows in blocks of up to 4 and columns in blocks of C, C = 8 for one row
// (more weight streams in flight) and 4 otherwise (16 accumulators);
// the remainders run narrower instances of the same loop.
template <int R, int C>
struct S8 {
  static void Run(const RowsTile& t, int64_t m0, int64_t j0) { RowsS8Block<R, C>(t, m0, j0); }
};
template <int R, int C>
struct U4 {
  static void Run(const RowsTile& t, int64_t m0, int64_t j0) { RowsU4Block<R, C>(t, m0, j0); }
};

template <template <int, int> class Block, int R>
void RunRows(const RowsTile& t, int64_t m0) {
  constexpr int C = R == 1 ? 8 : 4;
  int64_t j = 0;
  for (; j + C <= t.columns; j += C) Block<R, C>::Run(t, m0, j);
  for (; j < t.columns; ++j) Block<R, 1>::Run(t, m0, j);
}

template <template <int, int> class Block>
void Dispatch(const RowsTile& t) {
  int64_t m = 0;
  for (; m + 4 <= t.rows; m += 4) RunRows<Block, 4>(t, m);
  switch (t.rows - m) {
    case 3: RunRows<Block, 3>(t, m); break;
    case 2: RunRows<Block, 2>(t, m); break;
    case 1: RunRows<Block, 1>(t, m); break;
    default: break;
  }
}

}  // namespace

void DotRowsS8Avx512Vnni(const RowsTile& tile) { Dispatch<S8>(tile); }
void DotRowsU4Avx512Vnni(const RowsTile& tile) { Dispatch<U4>(tile); }

}  // namespace quantd
