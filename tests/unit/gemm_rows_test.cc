// The SIMD direct-path dot products (weights read in place from a [N, K]
// source) against the scalar reference, int32 for int32: random bytes,
// every small count of rows and columns (the tails of the register
// blocks), k around the 64-byte loads and the 128-k activation blocks,
// unaligned buffers, wider strides, both xor masks, and the extreme
// operands over the longest exact span. The weights end at the end of
// their allocation, so a read past a row's last byte would leave it
// (AddressSanitizer builds see it). Tables without the path are skipped.
#include <cstdint>
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

}  // namespace
}  // namespace quantd
