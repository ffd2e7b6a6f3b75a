// The SIMD direct-path dot products (weights read in place from a [N, K]
// source) against the scalar reference, int32 for int32: random bytes,
// every small count of rows and columns (the tails of the register
// blocks), k around the 64-byte loads and the 128-k activation blocks,
// unaligned buffers, wider strides, both xor masks, and the extreme
// operands over the longest exact span. The weights end at the end of
// their allocation, so a read past a row's last byte would leave it
// (AddressSanitizer builds see it). Tables without the path are skipped.
//
// The whole direct product (RowsProduct: every span's sums scaled into
// float64) is compared bit for bit with the reference's dot_rows +
// epilogue arithmetic, over spans of mixed lengths and parameters given
// per tensor, per column and per group.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/gemm.h"

namespace quantd {
namespace {

struct RowsCase {
  bool u4 = false;
  int64_t rows = 0, columns = 0, k = 0;
  uint8_t xor_mask = 0;
  int offset = 0;
  int64_t lda_extra = 0, ldw_extra = 0;
};

// Runs `fn` on random operands of `c` and returns d.
std::vector<int32_t> RunRows(DotRowsFn fn, const RowsCase& c, uint32_t seed, int fill = -1) {
  std::mt19937 rng(seed);
  const int64_t a_row = c.u4 ? (c.k + kRowsBlockK - 1) / kRowsBlockK * kRowsBlockK : c.k;
  const int64_t w_row = c.u4 ? c.k / 2 : c.k;
  const int64_t lda = a_row + c.lda_extra, ldw = w_row + c.ldw_extra;
  std::vector<uint8_t> a(c.offset + c.rows * lda);
  for (auto& x : a) x = fill >= 0 ? static_cast<uint8_t>(fill >> 8) : rng();
  if (c.u4) {  // Zero past k inside each row's last block, as gemm.h says.
    for (int64_t m = 0; m < c.rows; ++m) {
      for (int64_t i = c.k; i < a_row; ++i) {
        const int64_t b = i % kRowsBlockK;
        a[c.offset + m * lda + i - b + (b % 2) * (kRowsBlockK / 2) + b / 2] = 0;
      }
    }
  }
  // The last row ends exactly at the end of the buffer.
  std::vector<std::byte> w(c.offset + (c.columns == 0 ? 0 : (c.columns - 1) * ldw + w_row));
  for (auto& x : w) x = static_cast<std::byte>(fill >= 0 ? (fill & 0xFF) : rng());
  const int64_t ldd = c.columns + 3;
  std::vector<int32_t> d(c.rows * ldd, 7);
  RowsTile t;
  t.a = a.data() + c.offset;
  t.lda = lda;
  t.w = w.data() + c.offset;
  t.ldw = ldw;
  t.k = c.k;
  t.xor_mask = c.xor_mask;
  t.d = d.data();
  t.ldd = ldd;
  t.rows = c.rows;
  t.columns = c.columns;
  fn(t);
  return d;
}

std::vector<const GemmKernels*> TablesWithRows() {
  std::vector<const GemmKernels*> tables;
  for (const GemmKernels* t : {GemmKernelsAvx2(), GemmKernelsAvxVnni(), GemmKernelsAvx512(),
                               GemmKernelsAvx512Vnni()}) {
    if (t != nullptr && t->dot_rows_s8 != nullptr) tables.push_back(t);
  }
  return tables;
}

TEST(GemmRowsTest, EveryShapeMatchesTheReference) {
  const GemmKernels& ref = GemmKernelsReference();
  const auto tables = TablesWithRows();
  if (tables.empty()) GTEST_SKIP() << "no direct-path kernels on this CPU";
  uint32_t seed = 1;
  for (const GemmKernels* simd : tables) {
    for (bool u4 : {false, true}) {
      for (int64_t k : {0, 2, 62, 64, 66, 126, 128, 130, 256, 300, 1000}) {
        for (int64_t rows = 0; rows <= 9; ++rows) {
          for (int64_t columns : {0, 1, 3, 4, 5, 8, 9, 17}) {
            RowsCase c{u4, rows, columns, k, static_cast<uint8_t>(u4 ? 0x88 : 0x80),
                       static_cast<int>(seed % 4), static_cast<int64_t>(seed % 3),
                       static_cast<int64_t>(seed % 5)};
            if (seed % 2 == 0) c.xor_mask = 0;
            const DotRowsFn fast = u4 ? simd->dot_rows_u4 : simd->dot_rows_s8;
            const DotRowsFn slow = u4 ? ref.dot_rows_u4 : ref.dot_rows_s8;
            ASSERT_EQ(RunRows(fast, c, seed), RunRows(slow, c, seed))
                << simd->name << (u4 ? " U4" : " S8") << " k " << k << " rows " << rows
                << " columns " << columns << " xor " << int{c.xor_mask};
            ++seed;
          }
        }
      }
    }
  }
}

TEST(GemmRowsTest, ExtremeOperandsOverTheLongestSpanStayExact) {
  const auto tables = TablesWithRows();
  if (tables.empty()) GTEST_SKIP() << "no direct-path kernels on this CPU";
  for (const GemmKernels* simd : tables) {
    // S8: weights 255 against activations -128 (fill: activation byte, weight byte).
    RowsCase s8{false, 2, 3, kMaxExactSpan, 0};
    for (int32_t v : RunRows(simd->dot_rows_s8, s8, 1, 0x80FF)) {
      if (v != 7) {
        EXPECT_EQ(v, -255 * 128 * kMaxExactSpan) << simd->name;
      }
    }
    // U4: nibbles 15 against -128.
    RowsCase u4{true, 2, 3, kMaxExactSpan, 0};
    for (int32_t v : RunRows(simd->dot_rows_u4, u4, 1, 0x80FF)) {
      if (v != 7) {
        EXPECT_EQ(v, -15 * 128 * kMaxExactSpan) << simd->name;
      }
    }
  }
}

struct ProductCase {
  bool u4 = false;
  int64_t rows = 0, columns = 0;
  std::vector<int64_t> span_k;  // Each span's k (even for U4).
  int64_t stride = 0;           // Column stride of the parameters: 0, 1, or the span count.
  bool zero_points = false;
  uint8_t xor_mask = 0;
};

// Runs `fn` on random operands and parameters of `c` and returns y's bits.
std::vector<uint64_t> RunProduct(RowsProductFn fn, const ProductCase& c, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t spans = static_cast<int64_t>(c.span_k.size());
  int64_t k_total = 0, a_row = 0;
  std::vector<RowsSpan> s(spans);
  for (int64_t i = 0; i < spans; ++i) {
    s[i].k = c.span_k[i];
    s[i].a_offset = a_row;
    s[i].w_offset = c.u4 ? k_total / 2 : k_total;
    k_total += c.span_k[i];
    a_row += c.u4 ? (c.span_k[i] + kRowsBlockK - 1) / kRowsBlockK * kRowsBlockK : c.span_k[i];
  }
  const int64_t lda = a_row + 5, ldw = (c.u4 ? k_total / 2 : k_total) + 3;
  std::vector<uint8_t> a(c.rows * lda);
  for (auto& x : a) x = rng();
  if (c.u4) {  // Zero past each span's k inside its last block (gemm.h).
    for (int64_t m = 0; m < c.rows; ++m) {
      for (int64_t i = 0; i < spans; ++i) {
        const int64_t blocks = (s[i].k + kRowsBlockK - 1) / kRowsBlockK * kRowsBlockK;
        for (int64_t kk = s[i].k; kk < blocks; ++kk) {
          const int64_t b = kk % kRowsBlockK;
          a[m * lda + s[i].a_offset + kk - b + (b % 2) * (kRowsBlockK / 2) + b / 2] = 0;
        }
      }
    }
  }
  std::vector<std::byte> w(c.columns == 0 ? 0 : (c.columns - 1) * ldw + (c.u4 ? k_total / 2 : k_total));
  for (auto& x : w) x = static_cast<std::byte>(rng());
  // Parameters [column][span] as a per-group [N, K] tensor has them, or
  // one per column, or one in all; each span starts at its own group.
  const int64_t params = c.stride == 0 ? spans : c.stride == 1 ? c.columns + spans : c.columns * spans;
  std::uniform_real_distribution<float> scale(0.001f, 2.0f);
  std::vector<float> scales(params + 1);
  std::vector<int32_t> zeros(params + 1);
  for (auto& x : scales) x = scale(rng);
  for (auto& x : zeros) x = static_cast<int32_t>(rng() % 16);
  std::uniform_int_distribution<int32_t> term(-200000, 200000);
  std::vector<double> row_terms(spans * c.rows), row_scale(c.rows);
  for (auto& x : row_terms) x = term(rng);
  for (auto& x : row_scale) x = scale(rng);
  for (int64_t i = 0; i < spans; ++i) {  // Span i is group i: its column 0 at [i].
    s[i].col_scale = scales.data() + i;
    s[i].col_zero = c.zero_points ? zeros.data() + i : nullptr;
    s[i].row_term = row_terms.data() + i * c.rows;
  }
  const int64_t ldy = c.columns + 2;
  std::vector<double> y(c.rows * ldy, -1.5);
  RowsProduct p;
  p.a = a.data();
  p.lda = lda;
  p.w = w.data();
  p.ldw = ldw;
  p.xor_mask = c.xor_mask;
  p.spans = s.data();
  p.span_count = spans;
  p.col_scale_stride = c.stride;
  p.col_zero_stride = c.stride;
  p.has_zero_points = c.zero_points;
  p.zero_shift = c.xor_mask == 0 ? 0 : (c.u4 ? 8 : 128);
  p.row_scale = row_scale.data();
  p.y = y.data();
  p.ldy = ldy;
  p.rows = c.rows;
  p.columns = c.columns;
  fn(p);
  std::vector<uint64_t> bits(y.size());
  std::memcpy(bits.data(), y.data(), y.size() * sizeof(double));
  return bits;
}

std::vector<const GemmKernels*> TablesWithProduct() {
  std::vector<const GemmKernels*> tables;
  for (const GemmKernels* t : {GemmKernelsAvx2(), GemmKernelsAvxVnni(), GemmKernelsAvx512(),
                               GemmKernelsAvx512Vnni()}) {
    if (t != nullptr && t->rows_product_s8 != nullptr) tables.push_back(t);
  }
  return tables;
}

TEST(GemmRowsTest, WholeProductMatchesTheReferenceBitForBit) {
  const GemmKernels& ref = GemmKernelsReference();
  const auto tables = TablesWithProduct();
  if (tables.empty()) GTEST_SKIP() << "no direct-path kernels on this CPU";
  const std::vector<std::vector<int64_t>> span_sets = {
      {}, {64}, {128, 128, 128}, {128, 128, 32}, {2, 300, 126, 1000}, {256, 130, 66}};
  uint32_t seed = 1;
  for (const GemmKernels* simd : tables) {
    for (bool u4 : {false, true}) {
      for (const auto& spans : span_sets) {
        for (int64_t rows : {1, 2, 3, 4, 5, 9}) {
          for (int64_t columns : {1, 3, 8, 9, 17}) {
            for (int64_t stride_kind = 0; stride_kind < 3; ++stride_kind) {
              ProductCase c{u4, rows, columns, spans, 0, seed % 2 == 0,
                            static_cast<uint8_t>(seed % 3 == 0 ? 0 : (u4 ? 0x88 : 0x80))};
              c.stride = stride_kind == 2 ? static_cast<int64_t>(spans.size()) : stride_kind;
              const RowsProductFn fast = u4 ? simd->rows_product_u4 : simd->rows_product_s8;
              const RowsProductFn slow = u4 ? ref.rows_product_u4 : ref.rows_product_s8;
              ASSERT_EQ(RunProduct(fast, c, seed), RunProduct(slow, c, seed))
                  << simd->name << (u4 ? " U4" : " S8") << " spans " << spans.size() << " rows "
                  << rows << " columns " << columns << " stride " << c.stride << " zero points "
                  << c.zero_points << " xor " << int{c.xor_mask};
              ++seed;
            }
          }
        }
      }
    }
  }
}

// The product's arithmetic, checked against values worked out here: one
// column, two spans, known sums.
TEST(GemmRowsTest, WholeProductScalesEachSpanThenAddsThem) {
  std::vector<const GemmKernels*> tables = TablesWithProduct();
  tables.push_back(&GemmKernelsReference());
  for (const GemmKernels* t : tables) {
    // INT8 weights 3 (kernel weight 0x03 ^ 0x80 = 131 = 3 + 128) against
    // activations 2, over 64 k and then 16 k.
    std::vector<uint8_t> a(80, 2);
    std::vector<std::byte> w(80, std::byte{0x03});
    const float scales[2] = {0.5f, 0.25f};
    const double terms[2] = {-128.0, -32.0};  // -Σ a per span.
    RowsSpan spans[2];
    spans[0] = RowsSpan{64, 0, 0, &scales[0], nullptr, &terms[0]};
    spans[1] = RowsSpan{16, 64, 64, &scales[1], nullptr, &terms[1]};
    const double row_scale = 2.0;
    double y = 99;
    RowsProduct p;
    p.a = a.data();
    p.lda = 80;
    p.w = w.data();
    p.ldw = 80;
    p.xor_mask = 0x80;
    p.zero_shift = 128;  // The weights are b + 128: subtract 128 Σ a back.
    p.spans = spans;
    p.span_count = 2;
    p.row_scale = &row_scale;
    p.y = &y;
    p.rows = 1;
    p.columns = 1;
    t->rows_product_s8(p);
    // Span 0: D = 131 · 2 · 64 = 16768, exact = 16768 − 128 · 128 = 384, · 2 · 0.5.
    // Span 1: D = 131 · 2 · 16 = 4192, exact = 4192 − 128 · 32 = 96, · 2 · 0.25.
    EXPECT_EQ(y, 384.0 + 48.0) << t->name;
  }
}

}  // namespace
}  // namespace quantd
