// AVX-512 VNNI integer dot products: one vpdpbusd sums 4 products per
// column for a whole panel. vpdpbusd adds the four u8 x s8 products to the
// int32 lane without intermediate saturation, so both forms are exact.
//
// Register blocking: rows x panels of zmm accumulators (sizes below). S8
// loads each panel's quad once and reuses it for every row, and broadcasts
// each row's 4 activation bytes once for every panel. U4 splits each octet
// into its low and high nibbles once for every row, and broadcasts each
// row's two activation dwords once for every panel.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

namespace quantd {
namespace {

// S8: 24 accumulators + 4 panel registers + a broadcast fit the 32 zmm,
// 24 vpdpbusd for 10 loads per step. U4: 12 accumulators + 12 broadcasts
// (a row's two dwords are used by every panel) + a panel's nibbles; 6 x 4
// would need 24 broadcasts, and GCC then spills accumulators rather than
// broadcast from memory at each use.
constexpr int kS8Rows = 6, kS8Panels = 4;
constexpr int kU4Rows = 6, kU4Panels = 2;

int32_t LoadDword(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The sums of rows [0, R) x panels [0, P) into d, added to it or not.
template <int R, int P>
void Store(__m512i (&sum)[R][P], int32_t* d, int64_t ldd, bool accumulate) {
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      int32_t* out = d + r * ldd + p * kPanelColumns;
      __m512i v = sum[r][p];
      if (accumulate) v = _mm512_add_epi32(v, _mm512_loadu_si512(out));
      _mm512_storeu_si512(out, v);
    }
  }
}

template <int R, int P>
void S8Block(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
  __m512i sum[R][P];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) sum[r][p] = _mm512_setzero_si512();
  }
  const int64_t lda = t.lda, stride = t.panel_stride, steps = t.steps;
  for (int64_t q = 0; q < steps; ++q) {
    __m512i w[P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) w[p] = _mm512_loadu_si512(b + p * stride + 64 * q);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i x = _mm512_set1_epi32(LoadDword(a + r * lda + 4 * q));
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) sum[r][p] = _mm512_dpbusd_epi32(sum[r][p], x, w[p]);
    }
  }
  Store(sum, d, t.ldd, t.accumulate);
}

template <int R, int P>
void U4Block(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
  __m512i sum[R][P];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) sum[r][p] = _mm512_setzero_si512();
  }
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  const int64_t lda = t.lda, stride = t.panel_stride, steps = t.steps;
  for (int64_t o = 0; o < steps; ++o) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const __m512i w = _mm512_loadu_si512(b + p * stride + 64 * o);
      const __m512i lo = _mm512_and_si512(w, nibble);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), nibble);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const uint8_t* x = a + r * lda + 8 * o;
        sum[r][p] = _mm512_dpbusd_epi32(sum[r][p], lo, _mm512_set1_epi32(LoadDword(x)));
        sum[r][p] = _mm512_dpbusd_epi32(sum[r][p], hi, _mm512_set1_epi32(LoadDword(x + 4)));
      }
    }
  }
  Store(sum, d, t.ldd, t.accumulate);
}

using BlockFn = void (*)(const GemmTile&, const uint8_t*, const std::byte*, int32_t*);

// Every block shape up to Rows x Panels, so that tails run the same loop.
template <template <int, int> class Shape, int Panels, size_t... I>
constexpr std::array<BlockFn, sizeof...(I)> Blocks(std::index_sequence<I...>) {
  return {&Shape<static_cast<int>(I) / Panels + 1, static_cast<int>(I) % Panels + 1>::Run...};
}

template <int R, int P>
struct S8Shape {
  static void Run(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
    S8Block<R, P>(t, a, b, d);
  }
};
template <int R, int P>
struct U4Shape {
  static void Run(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
    U4Block<R, P>(t, a, b, d);
  }
};

constexpr auto kS8Blocks = Blocks<S8Shape, kS8Panels>(std::make_index_sequence<kS8Rows * kS8Panels>());
constexpr auto kU4Blocks = Blocks<U4Shape, kU4Panels>(std::make_index_sequence<kU4Rows * kU4Panels>());

// Panel blocks outside, so that one block's panels stay in cache while
// every row block of activations passes them.
template <int Rows, int Panels>
void Tile(const GemmTile& t, const std::array<BlockFn, Rows * Panels>& blocks) {
  for (int64_t p = 0; p < t.panels; p += Panels) {
    const int64_t np = std::min<int64_t>(Panels, t.panels - p);
    for (int64_t m = 0; m < t.rows; m += Rows) {
      const int64_t nr = std::min<int64_t>(Rows, t.rows - m);
      blocks[(nr - 1) * Panels + (np - 1)](t, t.a + m * t.lda, t.b + p * t.panel_stride,
                                           t.d + m * t.ldd + p * kPanelColumns);
    }
  }
}

}  // namespace

void DotS8Avx512Vnni(const GemmTile& tile) { Tile<kS8Rows, kS8Panels>(tile, kS8Blocks); }
void DotU4Avx512Vnni(const GemmTile& tile) { Tile<kU4Rows, kU4Panels>(tile, kU4Blocks); }

}  // namespace quantd
