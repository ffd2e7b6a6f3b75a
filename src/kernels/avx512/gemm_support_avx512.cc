// AVX-512 epilogue and float path of the matrix kernels, bit for bit the
// reference's: the same float64 operations per element in the same order
// (no contraction, see src/CMakeLists.txt), and one float32 FMA per k in k
// order. The packers are in gemm_pack_avx512.cc.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

namespace quantd {
namespace {

// Eight columns of one row, under `mask` (the row's tail). Without
// kRowZero the row's zero point is 0, and D - 0 · col_sum is D exactly:
// the product and the subtraction are left out (signed activations, as
// the 4-bit panels take them, have no zero point).
template <bool kColZero, bool kRowZero>
void EpilogueEight(const GemmEpilogue& e, int64_t n, __mmask8 mask, const int32_t* d, double* y,
                   __m512d row_zero, __m512d row_term, __m512d row_scale) {
  __m512d exact = _mm512_cvtepi32_pd(_mm256_maskz_loadu_epi32(mask, d + n));
  if constexpr (kRowZero) {
    exact = _mm512_sub_pd(exact, _mm512_mul_pd(row_zero, _mm512_maskz_loadu_pd(mask, e.col_sum + n)));
  }
  if constexpr (kColZero) {
    exact = _mm512_add_pd(exact, _mm512_mul_pd(_mm512_maskz_loadu_pd(mask, e.col_zero + n), row_term));
  }
  const __m512d scale = _mm512_mul_pd(row_scale, _mm512_maskz_loadu_pd(mask, e.col_scale + n));
  const __m512d term = _mm512_mul_pd(scale, exact);
  const __m512d sum = e.accumulate ? _mm512_add_pd(_mm512_maskz_loadu_pd(mask, y + n), term) : term;
  _mm512_mask_storeu_pd(y + n, mask, sum);
}

template <bool kColZero, bool kRowZero>
void EpilogueRow(const GemmEpilogue& e, int64_t m) {
  const int32_t* d = e.d + m * e.ldd;
  double* y = e.y + m * e.ldy;
  const __m512d row_zero = _mm512_set1_pd(e.row_zero[m]);
  const __m512d row_term = kColZero ? _mm512_set1_pd(e.row_term[m]) : _mm512_setzero_pd();
  const __m512d row_scale = _mm512_set1_pd(e.row_scale[m]);
  int64_t n = 0;
  for (; n + 8 <= e.columns; n += 8) {
    EpilogueEight<kColZero, kRowZero>(e, n, 0xFF, d, y, row_zero, row_term, row_scale);
  }
  if (n < e.columns) {
    const auto mask = static_cast<__mmask8>((1u << (e.columns - n)) - 1);
    EpilogueEight<kColZero, kRowZero>(e, n, mask, d, y, row_zero, row_term, row_scale);
  }
}

template <bool kColZero>
void EpilogueRows(const GemmEpilogue& e) {
  for (int64_t m = 0; m < e.rows; ++m) {
    if (e.row_zero[m] != 0) {
      EpilogueRow<kColZero, true>(e, m);
    } else {
      EpilogueRow<kColZero, false>(e, m);
    }
  }
}

// R rows by P panels, the sums in registers for the whole k.
template <int R, int P>
void DotBlock(const GemmTileF32& t, int64_t m, int64_t p) {
  __m512 acc[R][P];
  float* y = t.y + m * t.ldy + p * kPanelColumns;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q) {
      acc[r][q] = t.accumulate ? _mm512_loadu_ps(y + r * t.ldy + q * kPanelColumns) : _mm512_setzero_ps();
    }
  }
  const float* a = t.a + m * t.lda;
  const float* b = t.b + p * t.panel_stride;
  for (int64_t k = 0; k < t.k; ++k) {
    __m512 w[P];
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q) w[q] = _mm512_loadu_ps(b + q * t.panel_stride + kPanelColumns * k);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * t.lda + k]);
#pragma GCC unroll 8
      for (int q = 0; q < P; ++q) acc[r][q] = _mm512_fmadd_ps(x, w[q], acc[r][q]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int q = 0; q < P; ++q) _mm512_storeu_ps(y + r * t.ldy + q * kPanelColumns, acc[r][q]);
  }
}

// Rows m .. m + R - 1 across every panel, P at a time, then the rest.
template <int R, int P>
void DotRows(const GemmTileF32& t, int64_t m) {
  int64_t p = 0;
  for (; p + P <= t.panels; p += P) DotBlock<R, P>(t, m, p);
  if constexpr (P > 1) {
    if (p < t.panels) {
      GemmTileF32 rest = t;
      rest.b = t.b + p * t.panel_stride;
      rest.y = t.y + p * kPanelColumns;
      rest.panels = t.panels - p;
      DotRows<R, P / 2>(rest, m);
    }
  }
}

}  // namespace

void EpilogueAvx512(const GemmEpilogue& e) {
  if (e.col_zero != nullptr) {
    EpilogueRows<true>(e);
  } else {
    EpilogueRows<false>(e);
  }
}

// Four rows by four panels (16 sums); one row by eight panels, so that a
// single row still has eight FMA chains in flight.
void DotF32Avx512(const GemmTileF32& t) {
  int64_t m = 0;
  for (; m + 4 <= t.rows; m += 4) DotRows<4, 4>(t, m);
  switch (t.rows - m) {
    case 3:
      DotRows<3, 4>(t, m);
      break;
    case 2:
      DotRows<2, 4>(t, m);
      break;
    case 1:
      DotRows<1, 8>(t, m);
      break;
    default:
      break;
  }
}

}  // namespace quantd
