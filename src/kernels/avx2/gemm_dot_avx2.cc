// AVX2 integer dot products without VNNI, exact for every input.
//
// S8: vpmaddubsw would saturate (255 x -128 twice is -65280), so both
// operands are widened to int16 and multiplied with vpmaddwd, whose pair
// sums fit int32. A ymm of weights then covers 4 columns' quads, and each
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

// 16 ymm. S8: a row and panel take 4 accumulators, so 2 x 1 (8) leaves
// room for a widened weight quarter, the rows' widened broadcasts and a
// product. U4: 2 accumulators a row and panel; 2 x 1 leaves room for the
// panel's four nibble registers, the rows' four broadcasts and constants.
constexpr int kS8Rows = 2, kS8Panels = 1;
constexpr int kU4Rows = 2, kU4Panels = 1;

int32_t LoadDword(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Keeps GCC 12 from hoisting every product of a step ahead of its sum
// (which needs a register for each and spills accumulators): the sum is
// due in a register here.
void Pin(__m256i& v) { asm("" : "+x"(v)); }

void StoreSum(__m256i v, int32_t* out, bool accumulate) {
  auto* p = reinterpret_cast<__m256i*>(out);
  if (accumulate) v = _mm256_add_epi32(v, _mm256_loadu_si256(p));
  _mm256_storeu_si256(p, v);
}

__m256i Load(const std::byte* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

template <int R, int P>
void S8Block(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
  // sum[r][p][g]: columns 4 g .. 4 g + 3 of panel p, two lanes a column.
  __m256i sum[R][P][4];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) sum[r][p][g] = _mm256_setzero_si256();
    }
  }
  const int64_t lda = t.lda, stride = t.panel_stride, steps = t.steps;
  for (int64_t q = 0; q < steps; ++q) {
    __m256i x[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      x[r] = _mm256_cvtepu8_epi16(_mm_set1_epi32(LoadDword(a + r * lda + 4 * q)));
    }
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
#pragma GCC unroll 4
      for (int g = 0; g < 4; ++g) {
        const __m256i w = _mm256_cvtepi8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + p * stride + 64 * q + 16 * g)));
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          sum[r][p][g] = _mm256_add_epi32(sum[r][p][g], _mm256_madd_epi16(w, x[r]));
          Pin(sum[r][p][g]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      // hadd pairs lanes within 128-bit halves: columns 0 1 4 5 | 2 3 6 7.
      for (int h = 0; h < 2; ++h) {
        const __m256i v = _mm256_permute4x64_epi64(
            _mm256_hadd_epi32(sum[r][p][2 * h], sum[r][p][2 * h + 1]), 0xD8);
        StoreSum(v, d + r * t.ldd + p * kPanelColumns + 8 * h, t.accumulate);
      }
    }
  }
}

template <int R, int P>
void U4Block(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
  __m256i sum[R][P][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) sum[r][p][0] = sum[r][p][1] = _mm256_setzero_si256();
  }
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  const int64_t lda = t.lda, stride = t.panel_stride, steps = t.steps;
  for (int64_t o = 0; o < steps; ++o) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      __m256i lo[2], hi[2];
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256i w = Load(b + p * stride + 64 * o + 32 * h);
        lo[h] = _mm256_and_si256(w, nibble);
        hi[h] = _mm256_and_si256(_mm256_srli_epi16(w, 4), nibble);
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const uint8_t* x = a + r * lda + 8 * o;
        const __m256i xl = _mm256_set1_epi32(LoadDword(x));
        const __m256i xh = _mm256_set1_epi32(LoadDword(x + 4));
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
          const __m256i pairs =
              _mm256_add_epi16(_mm256_maddubs_epi16(lo[h], xl), _mm256_maddubs_epi16(hi[h], xh));
          sum[r][p][h] = _mm256_add_epi32(sum[r][p][h], _mm256_madd_epi16(pairs, ones));
          Pin(sum[r][p][h]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      for (int h = 0; h < 2; ++h) {
        StoreSum(sum[r][p][h], d + r * t.ldd + p * kPanelColumns + 8 * h, t.accumulate);
      }
    }
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

void DotS8Avx2(const GemmTile& tile) { Tile<kS8Rows, kS8Panels>(tile, kS8Blocks); }
void DotU4Avx2(const GemmTile& tile) { Tile<kU4Rows, kU4Panels>(tile, kU4Blocks); }

}  // namespace quantd
