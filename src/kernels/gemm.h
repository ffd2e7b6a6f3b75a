// The matrix-multiplication kernels' shared interface: the packed weight
// layouts, the exact integer dot products over them, the float64 epilogue
// that scales those into the result, and a float path for weights that are
// not integers (NF4). Plain data and declarations only, for the same reason
// as kernels.h: files built with different ISA flags include it.
//
// Weights are packed in panels of kPanelColumns output columns, so that one
// AVX-512 register holds the sums of a whole panel for one row. Columns past
// N and k past a span's end are packed as zero weights.
//
// S8 panel: K in quads of 4 consecutive k. Quad q of a panel is 64 bytes at
//   offset 64 q; its byte 4 j + r is w[4 q + r][j] (column j of the panel),
//   a signed 8-bit weight.
// U4 panel: K in octets of 8 consecutive k. Octet o is 64 bytes at offset
//   64 o; its byte 4 j + r holds w[8 o + 2 r][j] in bits 0-3 and
//   w[8 o + 2 r + 1][j] in bits 4-7, unsigned 4-bit weights (0..15) in the
//   order of API.md's packing, so that a [N, K] INT4 tensor packs by moving
//   whole 32-bit words. The matching activations are reordered per octet:
//   a[8 o + 0], a[8 o + 2], a[8 o + 4], a[8 o + 6], a[8 o + 1], a[8 o + 3],
//   a[8 o + 5], a[8 o + 7] (low nibbles first, then high).
// F32 panel: k-major, 16 floats per k: float 16 k + j is w[k][j].
#ifndef QUANTD_KERNELS_GEMM_H_
#define QUANTD_KERNELS_GEMM_H_

#include <cstddef>
#include <cstdint>

#include "quantd/isa.h"

namespace quantd {

inline constexpr int64_t kPanelColumns = 16;
inline constexpr int64_t kPanelStepBytes = 64;  // One quad (S8) or octet (U4).

// Every partial sum of a span fits int32 when the span has at most this
// many k: |u8 x s8| <= 255 * 128 per product, and 65536 * 32640 < 2^31.
inline constexpr int64_t kMaxExactSpan = 65536;

// One call sums over `steps` quads (S8) or octets (U4) for `rows` rows and
// `panels` panels: d[m * ldd + n] for n in [0, 16 panels).
struct GemmTile {
  const uint8_t* a = nullptr;  // Row m at a + m * lda: u8 (S8 panels) or s8 bytes (U4 panels).
  int64_t lda = 0;
  const std::byte* b = nullptr;  // The first panel, at the span's first step.
  int64_t panel_stride = 0;      // Bytes from one panel to the next.
  int64_t steps = 0;
  int32_t* d = nullptr;
  int64_t ldd = 0;
  int64_t rows = 0;
  int64_t panels = 0;
  bool accumulate = false;  // Add to d instead of overwriting it.
};

// d[m][n] (+)= Σ_k w[k][n] · a[m][k] over the tile's k, exact in int32, with
// a unsigned and w signed (S8 panels), or w unsigned 4-bit and a signed
// (U4 panels, activations reordered as above).
using DotS8Fn = void (*)(const GemmTile& tile);
using DotU4Fn = void (*)(const GemmTile& tile);

// Turns one span's dot products into the float64 result. With the operands'
// zero points folded in (u = a − za, w = b − zb over the span's Kg elements):
//   Σ (u − za)(w − zb) = D − za · Σw + zb · (Kg · za − Σu)
// so for row m and column n:
//   exact = D − row_zero[m] · col_sum[n] + col_zero[n] · row_term[m]
//   y[m][n] += (row_scale[m] · col_scale[n]) · exact
// in float64, in this order (the integers are exact in float64, so only the
// last product and the sum round). col_zero may be null (all zero). Without
// accumulate, y[m][n] = the term (a tile's first span: exact is never −0,
// so this equals adding it to 0).
struct GemmEpilogue {
  const int32_t* d = nullptr;
  int64_t ldd = 0;
  int64_t rows = 0;
  int64_t columns = 0;
  const double* row_scale = nullptr;
  const double* row_zero = nullptr;
  const double* row_term = nullptr;
  const double* col_scale = nullptr;
  const double* col_sum = nullptr;
  const double* col_zero = nullptr;
  double* y = nullptr;
  int64_t ldy = 0;
  bool accumulate = true;
};
using EpilogueFn = void (*)(const GemmEpilogue& epilogue);

// y[m][n] (+)= Σ_k a[m][k] · w[k][n] with one float32 fused multiply-add per
// k, in k order, from 0 (or from y when accumulating).
struct GemmTileF32 {
  const float* a = nullptr;  // Row m at a + m * lda.
  int64_t lda = 0;
  const float* b = nullptr;  // The first F32 panel, at the span's first k.
  int64_t panel_stride = 0;  // Floats from one panel to the next.
  int64_t k = 0;
  float* y = nullptr;
  int64_t ldy = 0;
  int64_t rows = 0;
  int64_t panels = 0;
  bool accumulate = false;
};
using DotF32Fn = void (*)(const GemmTileF32& tile);

// Packing a span of k (one group of the weights' parameters, or one cache
// block) for `panels` panels from the weights as given: row-major [K, N]
// (k_contiguous false) or [N, K] (true, PyTorch's Linear.weight).
struct PackArgs {
  const std::byte* src = nullptr;
  bool k_contiguous = false;
  int64_t k_total = 0;  // The source's K and N.
  int64_t n_total = 0;
  int64_t k_begin = 0;  // The span: k in [k_begin, k_begin + k_count).
  int64_t k_count = 0;
  int64_t n_begin = 0;  // Column of the first panel.
  int64_t panels = 0;
  // S8 from INT8 (0) or UINT8 (0x80: w = b − 128) bytes. U4 from INT4 (0x8:
  // w = b + 8) or UINT4 (0) nibbles, element i of the source in the nibble
  // API.md gives it (so a span may start mid-byte).
  uint8_t xor_mask = 0;
  std::byte* dst = nullptr;  // The first panel's first step.
  int64_t panel_stride = 0;  // Bytes from one packed panel to the next.
  // Optional: col_sums[j] = Σ w over the span for column n_begin + j, for
  // 16 panels columns (zero for columns past N).
  int32_t* col_sums = nullptr;
};
using PackFn = void (*)(const PackArgs& args);

// The direct path, for a few rows of activations: the weights are read in
// place from a [N, K] source (PyTorch's Linear.weight), since at M = 1
// packing them would cost more than the product. Here the weights are the
// unsigned operand: d[m][j] = Σ_{k < tile.k} w[j][k] · a[m][k] with w the
// source byte ^ xor_mask as an unsigned byte (S8: 0x80 turns INT8 into
// b + 128) or nibble (U4: element k of a row in the low nibble of byte
// k / 2 for even k, the high for odd; 0x88 turns INT4 into b + 8), and a
// signed. U4 activations come in blocks of 128 k: the 64 even k,
// then the 64 odd k (the low and the high nibbles), zero past tile.k.
// Nothing past a row's tile.k bytes (S8) or tile.k / 2 bytes (U4) is read.
struct RowsTile {
  const uint8_t* a = nullptr;  // Row m at a + m * lda.
  int64_t lda = 0;
  const std::byte* w = nullptr;  // Weight row j at w + j * ldw, at the span's first k.
  int64_t ldw = 0;
  int64_t k = 0;  // Elements summed; even for U4.
  uint8_t xor_mask = 0;
  int32_t* d = nullptr;  // d[m * ldd + j]
  int64_t ldd = 0;
  int64_t rows = 0;
  int64_t columns = 0;
};
using DotRowsFn = void (*)(const RowsTile& tile);
inline constexpr int64_t kRowsBlockK = 128;  // The U4 activation block.

// One span of a direct product (RowsProduct): k elements summed exactly as
// a RowsTile's (kMaxExactSpan at most, even for U4), the span's first
// activation byte in a row, its first weight byte in a weight row, and its
// parameters, read where the request holds them: column j's scale at
// col_scale[j * RowsProduct::col_scale_stride], its zero point likewise.
struct RowsSpan {
  int64_t k = 0;
  int64_t a_offset = 0;
  int64_t w_offset = 0;
  const float* col_scale = nullptr;
  const int32_t* col_zero = nullptr;  // Null when the product has no zero points.
  const double* row_term = nullptr;   // [row], k · 0 − Σ a over the span
};

// The direct path's whole product over its spans, for `rows` rows and
// `columns` columns: for each span in order, with D its dot products as
// DotRowsFn computes them, the activations' zero point 0 and z the column's
// zero point in the kernel's weight terms (zero_shift + col_zero, exact),
//   exact = D + z · row_term[m]
//   y[m][j] (+)= (row_scale[m] · col_scale) · exact
// in float64, in this order, the first span assigning: the epilogue's
// arithmetic span by span, so the result equals dot_rows followed by the
// epilogue, without the int32 sums or y going through memory between the
// spans. With no spans y is left as it is.
struct RowsProduct {
  const uint8_t* a = nullptr;  // Row m at a + m * lda.
  int64_t lda = 0;
  const std::byte* w = nullptr;  // Weight row j at w + j * ldw.
  int64_t ldw = 0;
  uint8_t xor_mask = 0;
  const RowsSpan* spans = nullptr;
  int64_t span_count = 0;
  // From one column's parameters to the next: 0 for one value, 1 per
  // column, the number of groups for per-group parameters of a [N, K]
  // tensor. has_zero_points false: every col_zero is null, z = zero_shift.
  int64_t col_scale_stride = 0;
  int64_t col_zero_stride = 0;
  bool has_zero_points = false;
  int32_t zero_shift = 0;  // What xor_mask adds to every weight: 128 (INT8) or 8 (INT4).
  const double* row_scale = nullptr;  // [row]
  double* y = nullptr;                // y[m * ldy + j]
  int64_t ldy = 0;
  int64_t rows = 0;
  int64_t columns = 0;
};
using RowsProductFn = void (*)(const RowsProduct& product);

// One ISA's matrix kernels.
struct GemmKernels {
  const char* name = "";  // "scalar", "avx2", "avx_vnni", "avx512", "avx512_vnni".
  DotS8Fn dot_s8 = nullptr;
  DotU4Fn dot_u4 = nullptr;
  EpilogueFn epilogue = nullptr;
  DotF32Fn dot_f32 = nullptr;
  PackFn pack_s8 = nullptr;
  PackFn pack_u4 = nullptr;
  // Null where the level has no direct path; the packed one then serves.
  // The product runs every span itself; dot_rows are its integer sums on
  // their own, where their exactness is tested.
  DotRowsFn dot_rows_s8 = nullptr;
  DotRowsFn dot_rows_u4 = nullptr;
  RowsProductFn rows_product_s8 = nullptr;  // With dot_rows_*, or both null.
  RowsProductFn rows_product_u4 = nullptr;
};

// The scalar reference, the oracle of every other table.
const GemmKernels& GemmKernelsReference();
// Null when the build or this CPU has no such path.
const GemmKernels* GemmKernelsAvx2();
const GemmKernels* GemmKernelsAvxVnni();
const GemmKernels* GemmKernelsAvx512();
const GemmKernels* GemmKernelsAvx512Vnni();

// The best table this CPU runs at most at `max_isa` (and QUANTD_ISA): AVX-VNNI
// counts as the AVX2 level.
const GemmKernels& SelectGemmKernels(Isa max_isa);

}  // namespace quantd

#endif  // QUANTD_KERNELS_GEMM_H_
