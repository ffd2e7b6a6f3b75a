// AVX2 epilogue and float path of the matrix kernels, bit for bit the
// reference's: the same float64 operations per element in the same order
// (no contraction, see src/CMakeLists.txt), and one float32 FMA per k in k
// order. The packers are in gemm_pack_avx2.cc.
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

namespace quantd {
namespace {

template <bool kColZero>
void EpilogueRows(const GemmEpilogue& e) {
  for (int64_t m = 0; m < e.rows; ++m) {
    const int32_t* d = e.d + m * e.ldd;
    double* y = e.y + m * e.ldy;
    const __m256d row_zero = _mm256_set1_pd(e.row_zero[m]);
    const __m256d row_term = kColZero ? _mm256_set1_pd(e.row_term[m]) : _mm256_setzero_pd();
    const __m256d row_scale = _mm256_set1_pd(e.row_scale[m]);
    int64_t n = 0;
    for (; n + 4 <= e.columns; n += 4) {
      const __m256d dot = _mm256_cvtepi32_pd(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + n)));
      __m256d exact = _mm256_sub_pd(dot, _mm256_mul_pd(row_zero, _mm256_loadu_pd(e.col_sum + n)));
      if constexpr (kColZero) {
        exact = _mm256_add_pd(exact, _mm256_mul_pd(_mm256_loadu_pd(e.col_zero + n), row_term));
      }
      const __m256d scale = _mm256_mul_pd(row_scale, _mm256_loadu_pd(e.col_scale + n));
      const __m256d term = _mm256_mul_pd(scale, exact);
      _mm256_storeu_pd(y + n, e.accumulate ? _mm256_add_pd(_mm256_loadu_pd(y + n), term) : term);
    }
    for (; n < e.columns; ++n) {  // The reference's expression (built without contraction).
      double exact = static_cast<double>(d[n]) - e.row_zero[m] * e.col_sum[n];
      if constexpr (kColZero) exact = exact + e.col_zero[n] * e.row_term[m];
      const double term = (e.row_scale[m] * e.col_scale[n]) * exact;
      y[n] = e.accumulate ? y[n] + term : term;
    }
  }
}

// R rows by P panels (two registers each), the sums in registers for the
// whole k.
template <int R, int P>
void DotBlock(const GemmTileF32& t, int64_t m, int64_t p) {
  __m256 acc[R][2 * P];
  float* y = t.y + m * t.ldy + p * kPanelColumns;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int q = 0; q < 2 * P; ++q) {
      acc[r][q] = t.accumulate ? _mm256_loadu_ps(y + r * t.ldy + 8 * q) : _mm256_setzero_ps();
    }
  }
  const float* a = t.a + m * t.lda;
  const float* b = t.b + p * t.panel_stride;
  for (int64_t k = 0; k < t.k; ++k) {
    __m256 w[2 * P];
#pragma GCC unroll 8
    for (int q = 0; q < 2 * P; ++q) {
      w[q] = _mm256_loadu_ps(b + (q / 2) * t.panel_stride + kPanelColumns * k + 8 * (q % 2));
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * t.lda + k);
#pragma GCC unroll 8
      for (int q = 0; q < 2 * P; ++q) acc[r][q] = _mm256_fmadd_ps(x, w[q], acc[r][q]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int q = 0; q < 2 * P; ++q) _mm256_storeu_ps(y + r * t.ldy + 8 * q, acc[r][q]);
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

void EpilogueAvx2(const GemmEpilogue& e) {
  if (e.col_zero != nullptr) {
    EpilogueRows<true>(e);
  } else {
    EpilogueRows<false>(e);
  }
}

// Up to 8 sums in registers (of 16): four rows by one panel, two by two, or
// one row by four panels.
void DotF32Avx2(const GemmTileF32& t) {
  int64_t m = 0;
  for (; m + 4 <= t.rows; m += 4) DotRows<4, 1>(t, m);
  switch (t.rows - m) {
    case 3:
      DotRows<3, 1>(t, m);
      break;
    case 2:
      DotRows<2, 2>(t, m);
      break;
    case 1:
      DotRows<1, 4>(t, m);
      break;
    default:
      break;
  }
}

}  // namespace quantd
