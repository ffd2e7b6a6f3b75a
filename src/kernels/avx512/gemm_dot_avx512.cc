// AVX-512 integer dot products without VNNI, exact for every input.
//
// S8: vpmaddubsw would saturate (255 x -128 twice is -65280), so both
// operands are widened to int16 and multiplied with vpmaddwd, whose pair
// sums fit int32. A zmm of weights then covers 8 columns' quads, and each
// int32 lane holds the sum of one pair of a quad: lanes 2j and 2j + 1 are
// added into column j once, after the last step.
// U4: a nibble times a signed byte cannot saturate vpmaddubsw (15 x 128 x 2
// < 32767), nor can the sum of a low and a high pair, so one vpmaddwd by
// ones per octet turns the 4 int16 of a column into its int32.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

namespace quantd {
namespace {

// S8: 4 x 2 x 2 accumulators + 4 widened panel halves; 6 rows would fit
// the 32 zmm on paper, but GCC 12 then keeps products in flight and spills.
// U4: 12 accumulators + 12 broadcasts (shared by the panels) + one panel's
// nibbles and two constants.
constexpr int kS8Rows = 4, kS8Panels = 2;
constexpr int kU4Rows = 6, kU4Panels = 2;

int32_t LoadDword(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Keeps GCC 12 from hoisting every product of a step ahead of its sum
// (which needs a register for each and spills accumulators): the sum is
// due in a register here.
void Pin(__m512i& v) { asm("" : "+v"(v)); }

void StoreSum(__m512i v, int32_t* out, bool accumulate) {
  if (accumulate) v = _mm512_add_epi32(v, _mm512_loadu_si512(out));
  _mm512_storeu_si512(out, v);
}

template <int R, int P>
void S8Block(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
  // sum[r][p][h]: columns 8 h .. 8 h + 7 of panel p, two lanes a column.
  __m512i sum[R][P][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) sum[r][p][0] = sum[r][p][1] = _mm512_setzero_si512();
  }
  const int64_t lda = t.lda, stride = t.panel_stride, steps = t.steps;
  for (int64_t q = 0; q < steps; ++q) {
    __m512i w[P][2];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const std::byte* quad = b + p * stride + 64 * q;
      w[p][0] = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(quad)));
      w[p][1] = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(quad + 32)));
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i x = _mm512_cvtepu8_epi16(_mm256_set1_epi32(LoadDword(a + r * lda + 4 * q)));
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) {
        sum[r][p][0] = _mm512_add_epi32(sum[r][p][0], _mm512_madd_epi16(w[p][0], x));
        sum[r][p][1] = _mm512_add_epi32(sum[r][p][1], _mm512_madd_epi16(w[p][1], x));
        Pin(sum[r][p][0]);
        Pin(sum[r][p][1]);
      }
    }
  }
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const __m512i v = _mm512_add_epi32(_mm512_permutex2var_epi32(sum[r][p][0], even, sum[r][p][1]),
                                         _mm512_permutex2var_epi32(sum[r][p][0], odd, sum[r][p][1]));
      StoreSum(v, d + r * t.ldd + p * kPanelColumns, t.accumulate);
    }
  }
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
  const __m512i ones = _mm512_set1_epi16(1);
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
        const __m512i pairs = _mm512_add_epi16(_mm512_maddubs_epi16(lo, _mm512_set1_epi32(LoadDword(x))),
                                               _mm512_maddubs_epi16(hi, _mm512_set1_epi32(LoadDword(x + 4))));
        sum[r][p] = _mm512_add_epi32(sum[r][p], _mm512_madd_epi16(pairs, ones));
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) StoreSum(sum[r][p], d + r * t.ldd + p * kPanelColumns, t.accumulate);
  }
}

using BlockFn = void (*)(const GemmTile&, const uint8_t*, const std::byte*, int32_t*);

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

// Every block shape up to Rows x Panels, so that tails run the same loop.
template <template <int, int> class Shape, int Panels, size_t... I>
constexpr std::array<BlockFn, sizeof...(I)> Blocks(std::index_sequence<I...>) {
  return {&Shape<static_cast<int>(I) / Panels + 1, static_cast<int>(I) % Panels + 1>::Run...};
}

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

void DotS8Avx512(const GemmTile& tile) { Tile<kS8Rows, kS8Panels>(tile, kS8Blocks); }
void DotU4Avx512(const GemmTile& tile) { Tile<kU4Rows, kU4Panels>(tile, kU4Blocks); }

}  // namespace quantd
