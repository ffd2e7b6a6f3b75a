// The matrix kernels' support paths (packing, epilogue, float dot) of every
// SIMD table against the scalar reference, bit for bit: every packed byte
// (the padding and the bytes between panels included), the column sums, and
// the float64 and float32 results compared as bits. Random data, K and N
// 1..70 and a long K, odd spans, both source layouts, both xor masks,
// unaligned sources and destinations, extreme integers and scales,
// denormals. Tables the CPU lacks are skipped. First, the reference
// packers against gemm.h's description of the layouts, on hand-written
// matrices.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm.h"

namespace quantd {
namespace {

// ---- The reference packers against gemm.h ----

// w[k][n] = 10 k + n − 40 on a 6 x 18 matrix: every weight distinct, signed.
int TinyS8(int64_t k, int64_t n) { return static_cast<int>(10 * k + n - 40); }

TEST(GemmLayoutTest, ReferencePacksS8WhereTheHeaderSays) {
  constexpr int64_t K = 6, N = 18;
  for (bool k_contiguous : {false, true}) {
    for (uint8_t xor_mask : {uint8_t{0}, uint8_t{0x80}}) {
      // The source: INT8 bytes, or UINT8 bytes b = w + 128.
      std::vector<std::byte> src(K * N);
      for (int64_t k = 0; k < K; ++k) {
        for (int64_t n = 0; n < N; ++n) {
          const int64_t i = k_contiguous ? n * K + k : k * N + n;
          src[i] = static_cast<std::byte>(static_cast<uint8_t>(TinyS8(k, n) + (xor_mask ? 128 : 0)));
        }
      }
      // Two panels (columns 0-15, 16-31), k 1..5: two quads.
      constexpr int64_t kStride = 3 * 64;
      std::vector<std::byte> dst(2 * kStride, std::byte{0x77});
      std::vector<int32_t> sums(32, -1);
      const PackArgs args{.src = src.data(),
                          .k_contiguous = k_contiguous,
                          .k_total = K,
                          .n_total = N,
                          .k_begin = 1,
                          .k_count = 5,
                          .n_begin = 0,
                          .panels = 2,
                          .xor_mask = xor_mask,
                          .dst = dst.data(),
                          .panel_stride = kStride,
                          .col_sums = sums.data()};
      GemmKernelsReference().pack_s8(args);
      auto packed = [&](int64_t panel, int64_t offset) {
        return static_cast<int>(static_cast<int8_t>(dst[panel * kStride + offset]));
      };
      // Quad 0 holds k 1..4; byte 4 j + r is w[1 + r][j].
      EXPECT_EQ(packed(0, 0), TinyS8(1, 0));
      EXPECT_EQ(packed(0, 1), TinyS8(2, 0));
      EXPECT_EQ(packed(0, 3), TinyS8(4, 0));
      EXPECT_EQ(packed(0, 4 * 5 + 2), TinyS8(3, 5));
      EXPECT_EQ(packed(0, 4 * 15 + 3), TinyS8(4, 15));
      EXPECT_EQ(packed(1, 4 * 1 + 0), TinyS8(1, 17));
      // Quad 1 holds k 5, then zeros.
      EXPECT_EQ(packed(0, 64 + 4 * 7), TinyS8(5, 7));
      EXPECT_EQ(packed(0, 64 + 4 * 7 + 1), 0);
      EXPECT_EQ(packed(1, 64 + 4 * 1), TinyS8(5, 17));
      // Columns past N are zero; bytes past the span's steps are untouched.
      EXPECT_EQ(packed(1, 4 * 2), 0);
      EXPECT_EQ(packed(1, 64 + 4 * 15), 0);
      EXPECT_EQ(static_cast<int>(dst[128]), 0x77);
      for (int64_t p = 0; p < 2; ++p) {
        for (int64_t q = 0; q < 2; ++q) {
          for (int64_t j = 0; j < 16; ++j) {
            for (int64_t r = 0; r < 4; ++r) {
              const int64_t k = 1 + 4 * q + r, n = 16 * p + j;
              const int expected = k < K && n < N ? TinyS8(k, n) : 0;
              EXPECT_EQ(packed(p, 64 * q + 4 * j + r), expected) << p << " " << q << " " << j << " " << r;
            }
          }
        }
      }
      EXPECT_EQ(sums[0], TinyS8(1, 0) + TinyS8(2, 0) + TinyS8(3, 0) + TinyS8(4, 0) + TinyS8(5, 0));
      EXPECT_EQ(sums[17], 10 * 15 + 5 * 17 - 5 * 40);
      EXPECT_EQ(sums[18], 0);
      EXPECT_EQ(sums[31], 0);
    }
  }
}

// u4[k][n] = (3 k + 5 n) mod 16, as UINT4, or as INT4 codes of u − 8.
int TinyU4(int64_t k, int64_t n) { return static_cast<int>((3 * k + 5 * n) % 16); }

TEST(GemmLayoutTest, ReferencePacksU4WhereTheHeaderSays) {
  constexpr int64_t K = 11, N = 3;
  for (bool k_contiguous : {false, true}) {
    for (uint8_t xor_mask : {uint8_t{0}, uint8_t{0x8}}) {
      // API.md: element i in nibble i % 2 of byte i / 2, the low one first.
      std::vector<std::byte> src((K * N + 1) / 2);
      for (int64_t k = 0; k < K; ++k) {
        for (int64_t n = 0; n < N; ++n) {
          const int64_t i = k_contiguous ? n * K + k : k * N + n;
          const int u = TinyU4(k, n);
          // INT4: the two's complement code of u − 8.
          const uint32_t code = xor_mask ? static_cast<uint32_t>(u - 8) & 0xF : static_cast<uint32_t>(u);
          const int shift = static_cast<int>(i % 2) * 4;
          src[i / 2] |= static_cast<std::byte>(code << shift);
        }
      }
      // k 1..10 (octets k 1-8 and 9-10), one panel.
      std::vector<std::byte> dst(128, std::byte{0x77});
      std::vector<int32_t> sums(16, -1);
      const PackArgs args{.src = src.data(),
                          .k_contiguous = k_contiguous,
                          .k_total = K,
                          .n_total = N,
                          .k_begin = 1,
                          .k_count = 10,
                          .n_begin = 0,
                          .panels = 1,
                          .xor_mask = xor_mask,
                          .dst = dst.data(),
                          .panel_stride = 128,
                          .col_sums = sums.data()};
      GemmKernelsReference().pack_u4(args);
      auto byte = [&](int64_t offset) { return static_cast<int>(dst[offset]); };
      // Octet 0, column j, byte r: w[1 + 2 r][j] low, w[2 + 2 r][j] high.
      EXPECT_EQ(byte(0), TinyU4(1, 0) | TinyU4(2, 0) << 4);
      EXPECT_EQ(byte(3), TinyU4(7, 0) | TinyU4(8, 0) << 4);
      EXPECT_EQ(byte(4 * 2 + 1), TinyU4(3, 2) | TinyU4(4, 2) << 4);
      // Octet 1: k 9 and 10, then zeros.
      EXPECT_EQ(byte(64 + 4 * 1), TinyU4(9, 1) | TinyU4(10, 1) << 4);
      EXPECT_EQ(byte(64 + 4 * 1 + 1), 0);
      EXPECT_EQ(byte(4 * 3), 0);  // Column 3 is past N.
      for (int64_t o = 0; o < 2; ++o) {
        for (int64_t j = 0; j < 16; ++j) {
          for (int64_t r = 0; r < 4; ++r) {
            int expected = 0;
            for (int h = 0; h < 2; ++h) {
              const int64_t k = 1 + 8 * o + 2 * r + h;
              if (k < K && j < N) expected |= TinyU4(k, j) << (4 * h);
            }
            EXPECT_EQ(byte(64 * o + 4 * j + r), expected) << o << " " << j << " " << r;
          }
        }
      }
      for (int64_t j = 0; j < 16; ++j) {
        int expected = 0;
        for (int64_t k = 1; k < K && j < N; ++k) expected += TinyU4(k, j);
        EXPECT_EQ(sums[j], expected) << j;
      }
    }
  }
}

// ---- SIMD tables against the reference ----

struct GemmPath {
  std::string name;
  const GemmKernels* table;
};

void PrintTo(const GemmPath& path, std::ostream* os) { *os << path.name; }

class GemmSupportTest : public ::testing::TestWithParam<GemmPath> {
 protected:
  void SetUp() override {
    if (GetParam().table == nullptr) GTEST_SKIP() << "this CPU lacks " << GetParam().name;
  }
  const GemmKernels& simd() const { return *GetParam().table; }
  const GemmKernels& reference() const { return GemmKernelsReference(); }
};

std::vector<std::byte> RandomBytes(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::byte> bytes(n);
  for (auto& b : bytes) b = static_cast<std::byte>(byte(rng));
  return bytes;
}

// One packing span of a K x N source at `src_offset` bytes into its buffer.
struct PackCase {
  bool u4 = false;
  bool k_contiguous = false;
  int64_t k_total = 0, n_total = 0;
  int64_t k_begin = 0, k_count = 0;
  int64_t n_begin = 0, panels = 0;
  uint8_t xor_mask = 0;
  bool sums = true;
  int src_offset = 0, dst_offset = 0;
  int64_t stride_extra = 0;  // Bytes between one panel's end and the next.
};

std::string Describe(const PackCase& c) {
  return std::string(c.u4 ? "U4" : "S8") + (c.k_contiguous ? " [N,K]" : " [K,N]") +
         " K=" + std::to_string(c.k_total) + " N=" + std::to_string(c.n_total) + " k " +
         std::to_string(c.k_begin) + "+" + std::to_string(c.k_count) + " n " + std::to_string(c.n_begin) +
         " panels " + std::to_string(c.panels) + " xor " + std::to_string(c.xor_mask) +
         (c.sums ? " sums" : "") + " src+" + std::to_string(c.src_offset) + " dst+" +
         std::to_string(c.dst_offset) + " extra " + std::to_string(c.stride_extra);
}

// Packs with both tables into buffers filled alike and compares every byte.
void ExpectSamePacking(const GemmKernels& simd, const PackCase& c, std::mt19937& rng) {
  const int64_t elements = c.k_total * c.n_total;
  const int64_t src_bytes = c.u4 ? (elements + 1) / 2 : elements;
  const std::vector<std::byte> src = RandomBytes(rng, c.src_offset + src_bytes);
  const int64_t step_k = c.u4 ? 8 : 4;
  const int64_t steps = (c.k_count + step_k - 1) / step_k;
  const int64_t stride = steps * kPanelStepBytes + c.stride_extra;
  const size_t dst_bytes = c.dst_offset + c.panels * stride + 64;
  std::vector<std::byte> expected(dst_bytes, std::byte{0xA5}), actual(dst_bytes, std::byte{0xA5});
  const size_t sum_count = kPanelColumns * c.panels + 4;
  std::vector<int32_t> expected_sums(sum_count, 0x5A5A5A5A), actual_sums(sum_count, 0x5A5A5A5A);
  PackArgs args{.src = src.data() + c.src_offset,
                .k_contiguous = c.k_contiguous,
                .k_total = c.k_total,
                .n_total = c.n_total,
                .k_begin = c.k_begin,
                .k_count = c.k_count,
                .n_begin = c.n_begin,
                .panels = c.panels,
                .xor_mask = c.xor_mask,
                .panel_stride = stride};
  args.dst = expected.data() + c.dst_offset;
  args.col_sums = c.sums ? expected_sums.data() : nullptr;
  (c.u4 ? GemmKernelsReference().pack_u4 : GemmKernelsReference().pack_s8)(args);
  args.dst = actual.data() + c.dst_offset;
  args.col_sums = c.sums ? actual_sums.data() : nullptr;
  (c.u4 ? simd.pack_u4 : simd.pack_s8)(args);
  for (size_t b = 0; b < dst_bytes; ++b) {
    ASSERT_EQ(static_cast<int>(expected[b]), static_cast<int>(actual[b]))
        << Describe(c) << ": byte " << static_cast<int64_t>(b) - c.dst_offset << " of " << dst_bytes;
  }
  for (size_t j = 0; j < sum_count; ++j)
    ASSERT_EQ(expected_sums[j], actual_sums[j]) << Describe(c) << ": sum " << j;
}

uint8_t XorMask(bool u4, int which) { return which == 0 ? 0 : (u4 ? 0x8 : 0x80); }

// Every K and N up to 70, whole matrices, both layouts and masks.
TEST_P(GemmSupportTest, PackMatchesReferenceOnWholeMatrices) {
  std::mt19937 rng(1);
  for (bool u4 : {false, true}) {
    for (int64_t k_total = 1; k_total <= 70; ++k_total) {
      for (int64_t n_total = 1; n_total <= 70; ++n_total) {
        for (bool k_contiguous : {false, true}) {
          PackCase c{.u4 = u4,
                     .k_contiguous = k_contiguous,
                     .k_total = k_total,
                     .n_total = n_total,
                     .k_begin = 0,
                     .k_count = k_total,
                     .n_begin = 0,
                     .panels = (n_total + 15) / 16,
                     .xor_mask = XorMask(u4, static_cast<int>((k_total + n_total) % 2)),
                     .sums = (k_total * n_total) % 3 != 0,
                     .src_offset = static_cast<int>(k_total % 5),
                     .dst_offset = static_cast<int>(n_total % 7)};
          ASSERT_NO_FATAL_FAILURE(ExpectSamePacking(simd(), c, rng));
        }
      }
    }
  }
}

// Spans of random matrices: odd beginnings and lengths, panels from any
// column (past N too), gaps between panels, unaligned buffers.
TEST_P(GemmSupportTest, PackMatchesReferenceOnSpans) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int64_t> dim(1, 300), small(0, 63);
  for (int trial = 0; trial < 3000; ++trial) {
    PackCase c;
    c.u4 = trial % 2 == 1;
    c.k_contiguous = trial % 4 < 2;
    c.k_total = dim(rng);
    c.n_total = dim(rng);
    if (trial % 8 >= 4 && c.u4) c.k_total += c.k_total % 2;  // An even K: the whole-byte U4 path.
    c.k_begin = std::uniform_int_distribution<int64_t>(0, c.k_total - 1)(rng);
    if (trial % 3 == 0 && c.u4) c.k_begin -= c.k_begin % 2;
    c.k_count = std::uniform_int_distribution<int64_t>(1, c.k_total - c.k_begin)(rng);
    c.n_begin = std::uniform_int_distribution<int64_t>(0, c.n_total + 20)(rng);
    if (trial % 2 == 0) c.n_begin -= c.n_begin % 16;
    c.panels = std::uniform_int_distribution<int64_t>(
        0, (c.n_total + 40 - std::min(c.n_begin, c.n_total)) / 16)(rng);
    c.xor_mask = XorMask(c.u4, trial % 3 == 1);
    c.sums = trial % 5 != 0;
    c.src_offset = static_cast<int>(small(rng));
    c.dst_offset = static_cast<int>(small(rng));
    c.stride_extra = trial % 3 == 0 ? 0 : small(rng);
    ASSERT_NO_FATAL_FAILURE(ExpectSamePacking(simd(), c, rng));
  }
}

// A long K (many 64-byte blocks), and a long N.
TEST_P(GemmSupportTest, PackMatchesReferenceOnLongSpans) {
  std::mt19937 rng(3);
  for (bool u4 : {false, true}) {
    for (bool k_contiguous : {false, true}) {
      for (int which = 0; which < 2; ++which) {
        for (auto [k_total, n_total, k_begin, k_count] : {std::array<int64_t, 4>{4096, 33, 0, 4096},
                                                          {4096, 33, 8, 4000},
                                                          {4096, 33, 1, 4093},
                                                          {33, 4096, 0, 33},
                                                          {34, 4096, 2, 31}}) {
          PackCase c{.u4 = u4,
                     .k_contiguous = k_contiguous,
                     .k_total = k_total,
                     .n_total = n_total,
                     .k_begin = k_begin,
                     .k_count = k_count,
                     .n_begin = 0,
                     .panels = (n_total + 15) / 16,
                     .xor_mask = XorMask(u4, which),
                     .sums = true,
                     .src_offset = 3,
                     .dst_offset = 5};
          ASSERT_NO_FATAL_FAILURE(ExpectSamePacking(simd(), c, rng));
        }
      }
    }
  }
}

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST_P(GemmSupportTest, EpilogueMatchesReferenceBitForBit) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int32_t> any_int(std::numeric_limits<int32_t>::min(),
                                                 std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int32_t> sum_int(-(1 << 30), 1 << 30);
  std::uniform_real_distribution<double> exponent(-30, 30), unit(-1, 1);
  std::uniform_int_distribution<int> pick(0, 9);
  auto scale = [&] { return (pick(rng) < 5 ? 1 : -1) * std::pow(10.0, exponent(rng)); };
  for (int trial = 0; trial < 2000; ++trial) {
    const int64_t rows = trial % 10, columns = trial % 71;
    const int64_t ldd = columns + trial % 3, ldy = columns + trial % 5;
    std::vector<int32_t> d(rows * ldd + 1);
    for (auto& v : d) {
      const int p = pick(rng);
      v = p == 0   ? std::numeric_limits<int32_t>::max()
          : p == 1 ? -std::numeric_limits<int32_t>::max()
                   : any_int(rng);
    }
    auto doubles = [&](int64_t n, auto make) {
      std::vector<double> v(n + 1);  // One past the end, unaligned starts below.
      for (auto& x : v) x = make();
      return v;
    };
    const auto row_scale = doubles(rows, scale);
    // Zero (of either sign) takes the SIMD epilogues' shorter path.
    const auto row_zero = doubles(rows, [&] {
      const int p = pick(rng);
      return p < 2 ? 255.0 : p == 2 ? 0.0 : p == 3 ? -0.0 : static_cast<double>(sum_int(rng) % 256);
    });
    const auto row_term = doubles(rows, [&] { return static_cast<double>(sum_int(rng)); });
    const auto col_scale = doubles(columns, scale);
    const auto col_sum = doubles(columns, [&] {
      const int p = pick(rng);
      return static_cast<double>(p == 0 ? (1 << 30) : p == 1 ? -(1 << 30) : sum_int(rng));
    });
    const auto col_zero = doubles(columns, [&] { return static_cast<double>(sum_int(rng) % 16); });
    const auto y0 = doubles(rows * ldy, [&] { return unit(rng) * scale(); });
    for (int variant = 0; variant < 4; ++variant) {
      const bool with_col_zero = variant % 2 == 1, accumulate = variant < 2;
      std::vector<double> expected = y0, actual = y0;
      GemmEpilogue e{.d = d.data(),
                     .ldd = ldd,
                     .rows = rows,
                     .columns = columns,
                     .row_scale = row_scale.data(),
                     .row_zero = row_zero.data(),
                     .row_term = row_term.data(),
                     .col_scale = col_scale.data(),
                     .col_sum = col_sum.data(),
                     .col_zero = with_col_zero ? col_zero.data() : nullptr,
                     .accumulate = accumulate};
      e.y = expected.data();
      e.ldy = ldy;
      reference().epilogue(e);
      e.y = actual.data();
      simd().epilogue(e);
      ASSERT_TRUE(SameBits(expected, actual))
          << "rows " << rows << " columns " << columns << " col_zero " << with_col_zero
          << " accumulate " << accumulate;
    }
  }
}

float RandomFloat(std::mt19937& rng) {
  std::uniform_int_distribution<int> pick(0, 19);
  std::normal_distribution<float> normal;
  switch (pick(rng)) {
    case 0:
      return normal(rng) * 1e-39f;  // Denormal.
    case 1:
      return normal(rng) * 1e-42f;
    case 2:
      return normal(rng) * 1e18f;  // Products near float32's limit.
    case 3:
      return 0.0f;
    case 4:
      return -0.0f;
    default:
      return normal(rng);
  }
}

TEST_P(GemmSupportTest, DotF32MatchesReferenceBitForBit) {
  std::mt19937 rng(5);
  for (int64_t rows = 0; rows <= 9; ++rows) {
    for (int64_t panels = 0; panels <= 3; ++panels) {
      for (int64_t k = 0; k <= 100; ++k) {
        for (bool accumulate : {false, true}) {
          const int64_t lda = k + rows % 3, ldy = kPanelColumns * panels + panels % 2 * 5;
          const int64_t panel_stride = kPanelColumns * k + (k % 2) * 16 + 3;
          std::vector<float> a(rows * lda + 1), b(panels * panel_stride + 1), y0(rows * ldy + 1);
          for (auto& v : a) v = RandomFloat(rng);
          for (auto& v : b) v = RandomFloat(rng);
          for (auto& v : y0) v = RandomFloat(rng);
          std::vector<float> expected = y0, actual = y0;
          GemmTileF32 t{.a = a.data() + 1,
                        .lda = lda,
                        .b = b.data() + 1,
                        .panel_stride = panel_stride,
                        .k = k,
                        .ldy = ldy,
                        .rows = rows,
                        .panels = panels,
                        .accumulate = accumulate};
          if (rows * lda == 0) t.a = a.data();
          if (panels * panel_stride == 0) t.b = b.data();
          t.y = expected.data();
          reference().dot_f32(t);
          t.y = actual.data();
          simd().dot_f32(t);
          ASSERT_EQ(std::memcmp(expected.data(), actual.data(), expected.size() * sizeof(float)), 0)
              << "rows " << rows << " panels " << panels << " k " << k << " accumulate " << accumulate;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tables, GemmSupportTest,
                         ::testing::Values(GemmPath{"avx2", GemmKernelsAvx2()},
                                           GemmPath{"avx_vnni", GemmKernelsAvxVnni()},
                                           GemmPath{"avx512", GemmKernelsAvx512()},
                                           GemmPath{"avx512_vnni", GemmKernelsAvx512Vnni()}),
                         [](const ::testing::TestParamInfo<GemmPath>& info) { return info.param.name; });

}  // namespace
}  // namespace quantd
