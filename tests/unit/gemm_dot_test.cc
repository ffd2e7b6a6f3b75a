// The SIMD integer dot products (S8 and U4 panels) against the scalar
// reference, int32 for int32: random bytes and nibbles, every small count
// of rows, panels and steps (the tails of every register block) and larger
// ones, unaligned activations and panels, strides wider than needed,
// accumulating into random sums or not, and the extreme operands over the
// longest exact span, which saturating int16 arithmetic would get wrong.
// Tables the CPU lacks are skipped.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/gemm.h"
#include "kernels/kernels.h"

namespace quantd {
namespace {

struct GemmPath {
  std::string name;
  const GemmKernels* table;
};

void PrintTo(const GemmPath& path, std::ostream* os) { *os << path.name; }

class GemmDotTest : public ::testing::TestWithParam<GemmPath> {
 protected:
  void SetUp() override {
    if (GetParam().table == nullptr) GTEST_SKIP() << "this CPU lacks " << GetParam().name;
  }
  const GemmKernels& simd() const { return *GetParam().table; }
};

enum class Form { kS8, kU4 };

// One tile's shape and placement. Strides exceed what the tile needs by the
// given extras, and every buffer starts `offset` bytes past an allocation.
struct DotCase {
  Form form = Form::kS8;
  int64_t rows = 0, panels = 0, steps = 0;
  int64_t lda_extra = 0, ldd_extra = 0, stride_extra = 0;
  int offset = 0;
  bool accumulate = false;
};

// The bytes of a tile: activations and packed panels, filled by the
// callers, and the initial output, random.
struct DotBuffers {
  std::vector<uint8_t> a;
  std::vector<std::byte> b;
  std::vector<int32_t> d;
  int64_t lda = 0, ldd = 0, stride = 0;
};

DotBuffers Allocate(const DotCase& c, std::mt19937& rng) {
  DotBuffers buffers;
  const int64_t k_bytes = (c.form == Form::kS8 ? 4 : 8) * c.steps;
  buffers.lda = k_bytes + c.lda_extra;
  buffers.stride = c.steps * kPanelStepBytes + c.stride_extra;
  buffers.ldd = c.panels * kPanelColumns + c.ldd_extra;
  buffers.a.resize(c.offset + c.rows * buffers.lda + 1);
  buffers.b.resize(c.offset + c.panels * buffers.stride + 1);
  buffers.d.resize(c.offset + c.rows * buffers.ldd + 1);
  std::uniform_int_distribution<int32_t> any(-(1 << 30), 1 << 30);
  for (int32_t& v : buffers.d) v = any(rng);
  return buffers;
}

// Runs the reference and `simd` on the same buffers (d from the same random
// start), and compares every int32 of d, the gaps between rows included.
void ExpectDotMatches(const GemmKernels& simd, const DotCase& c, const DotBuffers& buffers) {
  std::vector<int32_t> expected = buffers.d, actual = buffers.d;
  auto run = [&](const GemmKernels& table, std::vector<int32_t>& d) {
    GemmTile tile;
    tile.a = buffers.a.data() + c.offset;
    tile.lda = buffers.lda;
    tile.b = buffers.b.data() + c.offset;
    tile.panel_stride = buffers.stride;
    tile.steps = c.steps;
    tile.d = d.data() + c.offset;
    tile.ldd = buffers.ldd;
    tile.rows = c.rows;
    tile.panels = c.panels;
    tile.accumulate = c.accumulate;
    (c.form == Form::kS8 ? table.dot_s8 : table.dot_u4)(tile);
  };
  run(GemmKernelsReference(), expected);
  run(simd, actual);
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(expected[i], actual[i])
        << (c.form == Form::kS8 ? "S8" : "U4") << " rows " << c.rows << " panels " << c.panels
        << " steps " << c.steps << " offset " << c.offset << " accumulate " << c.accumulate
        << " lda " << buffers.lda << " ldd " << buffers.ldd << " stride " << buffers.stride
        << ": int32 " << i;
  }
}

void FillRandom(DotBuffers& buffers, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& v : buffers.a) v = static_cast<uint8_t>(byte(rng));
  for (std::byte& v : buffers.b) v = static_cast<std::byte>(byte(rng));
}

std::vector<int64_t> Counts(std::initializer_list<int64_t> large, int64_t small_max) {
  std::vector<int64_t> counts;
  for (int64_t n = 0; n <= small_max; ++n) counts.push_back(n);
  counts.insert(counts.end(), large);
  return counts;
}

// Every combination of small rows, panels and steps, plus larger ones, at
// varying offsets, strides and accumulation.
void ExpectRandomTilesMatch(const GemmKernels& simd, Form form) {
  std::mt19937 rng(form == Form::kS8 ? 17 : 29);
  int variant = 0;
  for (int64_t rows : Counts({17, 63}, 9)) {
    for (int64_t panels : Counts({}, 5)) {
      for (int64_t steps : Counts({100}, 9)) {
        ++variant;
        DotCase c{.form = form, .rows = rows, .panels = panels, .steps = steps};
        c.offset = 1 + variant % 3;
        c.lda_extra = variant % 5;
        c.ldd_extra = (variant / 5) % 3;
        c.stride_extra = (variant / 3) % 4;
        c.accumulate = variant % 2 == 0;
        DotBuffers buffers = Allocate(c, rng);
        FillRandom(buffers, rng);
        ExpectDotMatches(simd, c, buffers);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

TEST_P(GemmDotTest, S8MatchesReference) { ExpectRandomTilesMatch(simd(), Form::kS8); }

TEST_P(GemmDotTest, U4MatchesReference) { ExpectRandomTilesMatch(simd(), Form::kU4); }

// Several blocks of rows and panels over many steps, as the caller passes
// them, to exercise the register blocks' full shapes over long runs.
TEST_P(GemmDotTest, LargeTilesMatchReference) {
  std::mt19937 rng(41);
  for (Form form : {Form::kS8, Form::kU4}) {
    for (bool accumulate : {false, true}) {
      DotCase c{.form = form, .rows = 64, .panels = 9, .steps = 700, .ldd_extra = 3, .offset = 2,
                .accumulate = accumulate};
      DotBuffers buffers = Allocate(c, rng);
      FillRandom(buffers, rng);
      ExpectDotMatches(simd(), c, buffers);
    }
  }
}

// The largest products over the longest exact span: each int32 is within
// 2^31 only because the instructions never round nor saturate on the way.
// Block shapes 1 x 1 and several of each, so every kernel sees them.
void ExpectExtremesMatch(const GemmKernels& simd, Form form, uint8_t a, uint8_t w) {
  for (auto [rows, panels] : {std::pair<int64_t, int64_t>{1, 1}, {7, 5}}) {
    DotCase c{.form = form, .rows = rows, .panels = panels, .offset = 1};
    c.steps = form == Form::kS8 ? kMaxExactSpan / 4 : kMaxExactSpan / 8;
    std::mt19937 rng(7);
    DotBuffers buffers = Allocate(c, rng);
    std::fill(buffers.a.begin(), buffers.a.end(), a);
    std::fill(buffers.b.begin(), buffers.b.end(), static_cast<std::byte>(w));
    ExpectDotMatches(simd, c, buffers);
    // The sum itself, so that the reference is checked too.
    const int64_t k = kMaxExactSpan;
    const int64_t one = form == Form::kS8 ? int64_t{a} * static_cast<int8_t>(w)
                                          : int64_t{static_cast<int8_t>(a)} * (w & 0xF);
    std::vector<int32_t> d(rows * panels * kPanelColumns);
    GemmTile tile{.a = buffers.a.data() + 1, .lda = buffers.lda, .b = buffers.b.data() + 1,
                  .panel_stride = buffers.stride, .steps = c.steps, .d = d.data(),
                  .ldd = panels * kPanelColumns, .rows = rows, .panels = panels};
    (form == Form::kS8 ? simd.dot_s8 : simd.dot_u4)(tile);
    for (int32_t v : d) ASSERT_EQ(v, one * k);
  }
}

TEST_P(GemmDotTest, S8ExtremesDoNotSaturate) {
  ExpectExtremesMatch(simd(), Form::kS8, 255, 0x80);  // 255 x -128
  ExpectExtremesMatch(simd(), Form::kS8, 255, 0x7F);  // 255 x 127
}

TEST_P(GemmDotTest, U4ExtremesDoNotSaturate) {
  ExpectExtremesMatch(simd(), Form::kU4, 0x80, 0xFF);  // -128 x 15
  ExpectExtremesMatch(simd(), Form::kU4, 0x7F, 0xFF);  // 127 x 15
}

// A saturating path would clip pairs like 255 x -128 + 255 x -128 even
// where the other products of the span pull the sum back into range.
TEST_P(GemmDotTest, S8MixedExtremes) {
  std::mt19937 rng(5);
  DotCase c{.form = Form::kS8, .rows = 13, .panels = 6, .steps = 37, .offset = 3};
  DotBuffers buffers = Allocate(c, rng);
  std::uniform_int_distribution<int> coin(0, 1);
  for (uint8_t& v : buffers.a) v = coin(rng) ? 255 : 0;
  for (std::byte& v : buffers.b) v = static_cast<std::byte>(coin(rng) ? 0x80 : 0x7F);
  ExpectDotMatches(simd(), c, buffers);
}

INSTANTIATE_TEST_SUITE_P(Paths, GemmDotTest,
                         ::testing::Values(GemmPath{"avx2", GemmKernelsAvx2()},
                                           GemmPath{"avx_vnni", GemmKernelsAvxVnni()},
                                           GemmPath{"avx512", GemmKernelsAvx512()},
                                           GemmPath{"avx512_vnni", GemmKernelsAvx512Vnni()}),
                         [](const ::testing::TestParamInfo<GemmPath>& info) { return info.param.name; });

TEST(GemmDispatchTest, ScalarIsTheReference) {
  EXPECT_EQ(&SelectGemmKernels(Isa::kScalar), &GemmKernelsReference());
}

// The best table at the top level is the VNNI one where the CPU (and
// QUANTD_ISA) allows it, with its own dot products.
TEST(GemmDispatchTest, TopLevelSelectsTheBestDotProducts) {
  const GemmKernels& selected = SelectGemmKernels(Isa::kAvx512Vnni);
  const Isa allowed = AllowedIsa(Isa::kAvx512Vnni);
  if (allowed >= Isa::kAvx512Vnni) {
    ASSERT_NE(GemmKernelsAvx512Vnni(), nullptr);
    EXPECT_EQ(&selected, GemmKernelsAvx512Vnni());
    EXPECT_EQ(selected.dot_s8, GemmKernelsAvx512Vnni()->dot_s8);
    EXPECT_NE(selected.dot_s8, GemmKernelsReference().dot_s8);
    EXPECT_NE(selected.dot_u4, GemmKernelsReference().dot_u4);
  } else if (allowed >= Isa::kAvx512) {
    EXPECT_EQ(&selected, GemmKernelsAvx512());
  } else if (allowed >= Isa::kAvx2 && GemmKernelsAvxVnni() != nullptr) {
    EXPECT_EQ(&selected, GemmKernelsAvxVnni());
  } else if (allowed == Isa::kScalar) {
    EXPECT_EQ(&selected, &GemmKernelsReference());
  }
  EXPECT_STRNE(selected.name, "");
}

}  // namespace
}  // namespace quantd
