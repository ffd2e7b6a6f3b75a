// AVX-VNNI integer dot products: the VEX-encoded vpdpbusd on ymm, so a
// panel's 16 columns take two registers. vpdpbusd adds the four u8 x s8
// products to the int32 lane without intermediate saturation, so both forms
// are exact.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

namespace quantd {
namespace {

// 16 ymm. S8: 6 rows x 2 halves of accumulators + the panel's quad (2) + a
// broadcast. U4: 4 x 2 accumulators + the octet's 4 nibble registers + the
// mask + a row's two broadcasts.
constexpr int kS8Rows = 6;
constexpr int kU4Rows = 4;

int32_t LoadDword(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

__m256i Load(const std::byte* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

void StoreSums(const __m256i (&sum)[2], int32_t* out, bool accumulate) {
  for (int h = 0; h < 2; ++h) {
    auto* p = reinterpret_cast<__m256i*>(out + 8 * h);
    __m256i v = sum[h];
    if (accumulate) v = _mm256_add_epi32(v, _mm256_loadu_si256(p));
    _mm256_storeu_si256(p, v);
  }
}

// One panel for R rows.
template <int R>
void S8Block(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
  __m256i sum[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) sum[r][0] = sum[r][1] = _mm256_setzero_si256();
  const int64_t lda = t.lda, steps = t.steps;
  for (int64_t q = 0; q < steps; ++q) {
    const __m256i w0 = Load(b + 64 * q), w1 = Load(b + 64 * q + 32);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256i x = _mm256_set1_epi32(LoadDword(a + r * lda + 4 * q));
      sum[r][0] = _mm256_dpbusd_avx_epi32(sum[r][0], x, w0);
      sum[r][1] = _mm256_dpbusd_avx_epi32(sum[r][1], x, w1);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) StoreSums(sum[r], d + r * t.ldd, t.accumulate);
}

template <int R>
void U4Block(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
  __m256i sum[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) sum[r][0] = sum[r][1] = _mm256_setzero_si256();
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const int64_t lda = t.lda, steps = t.steps;
  for (int64_t o = 0; o < steps; ++o) {
    __m256i lo[2], hi[2];
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m256i w = Load(b + 64 * o + 32 * h);
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
        sum[r][h] = _mm256_dpbusd_avx_epi32(sum[r][h], lo[h], xl);
        sum[r][h] = _mm256_dpbusd_avx_epi32(sum[r][h], hi[h], xh);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) StoreSums(sum[r], d + r * t.ldd, t.accumulate);
}

using BlockFn = void (*)(const GemmTile&, const uint8_t*, const std::byte*, int32_t*);

// Every row count up to Rows, so that tails run the same loop.
template <int Rows, template <int> class Block, size_t... I>
constexpr std::array<BlockFn, Rows> Blocks(std::index_sequence<I...>) {
  return {&Block<static_cast<int>(I) + 1>::Run...};
}
template <int R>
struct S8Rows {
  static void Run(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
    S8Block<R>(t, a, b, d);
  }
};
template <int R>
struct U4Rows {
  static void Run(const GemmTile& t, const uint8_t* a, const std::byte* b, int32_t* d) {
    U4Block<R>(t, a, b, d);
  }
};

constexpr auto kS8Blocks = Blocks<kS8Rows, S8Rows>(std::make_index_sequence<kS8Rows>());
constexpr auto kU4Blocks = Blocks<kU4Rows, U4Rows>(std::make_index_sequence<kU4Rows>());

// Panels outside, so that one panel stays in cache while every row block
// of activations passes it.
template <int Rows>
void Tile(const GemmTile& t, const std::array<BlockFn, Rows>& blocks) {
  for (int64_t p = 0; p < t.panels; ++p) {
    for (int64_t m = 0; m < t.rows; m += Rows) {
      const int64_t nr = std::min<int64_t>(Rows, t.rows - m);
      blocks[nr - 1](t, t.a + m * t.lda, t.b + p * t.panel_stride, t.d + m * t.ldd + p * kPanelColumns);
    }
  }
}

}  // namespace

void DotS8AvxVnni(const GemmTile& tile) { Tile<kS8Rows>(tile, kS8Blocks); }
void DotU4AvxVnni(const GemmTile& tile) { Tile<kU4Rows>(tile, kU4Blocks); }

}  // namespace quantd
