// Scalar reference matrix kernels: the statement of the packed layouts and
// of the arithmetic, and the oracle for the SIMD tables. Naive on purpose.
#include <cmath>
#include <cstring>
#include <vector>

#include "formats/packing.h"
#include "kernels/gemm.h"

namespace quantd {
namespace {

// Where a step's k lands in a U4 octet: its byte and nibble within the
// column's 4-byte word, and its position among the reordered activations.
int U4Byte(int r) { return r / 2; }
int U4Shift(int r) { return (r % 2) * 4; }
int U4ActivationSlot(int r) { return (r % 2) * 4 + r / 2; }

void DotS8(const GemmTile& t) {
  for (int64_t m = 0; m < t.rows; ++m) {
    const uint8_t* a = t.a + m * t.lda;
    for (int64_t p = 0; p < t.panels; ++p) {
      const auto* panel = reinterpret_cast<const int8_t*>(t.b + p * t.panel_stride);
      for (int64_t j = 0; j < kPanelColumns; ++j) {
        int32_t sum = 0;
        for (int64_t q = 0; q < t.steps; ++q) {
          for (int r = 0; r < 4; ++r) sum += int32_t{a[4 * q + r]} * panel[64 * q + 4 * j + r];
        }
        int32_t& d = t.d[m * t.ldd + p * kPanelColumns + j];
        d = t.accumulate ? d + sum : sum;
      }
    }
  }
}

void DotU4(const GemmTile& t) {
  for (int64_t m = 0; m < t.rows; ++m) {
    const auto* a = reinterpret_cast<const int8_t*>(t.a + m * t.lda);
    for (int64_t p = 0; p < t.panels; ++p) {
      const auto* panel = reinterpret_cast<const uint8_t*>(t.b + p * t.panel_stride);
      for (int64_t j = 0; j < kPanelColumns; ++j) {
        int32_t sum = 0;
        for (int64_t o = 0; o < t.steps; ++o) {
          for (int r = 0; r < 8; ++r) {
            const int32_t w = (panel[64 * o + 4 * j + U4Byte(r)] >> U4Shift(r)) & 0xF;
            sum += w * a[8 * o + U4ActivationSlot(r)];
          }
        }
        int32_t& d = t.d[m * t.ldd + p * kPanelColumns + j];
        d = t.accumulate ? d + sum : sum;
      }
    }
  }
}

void Epilogue(const GemmEpilogue& e) {
  for (int64_t m = 0; m < e.rows; ++m) {
    for (int64_t n = 0; n < e.columns; ++n) {
      double exact = static_cast<double>(e.d[m * e.ldd + n]) - e.row_zero[m] * e.col_sum[n];
      if (e.col_zero != nullptr) exact = exact + e.col_zero[n] * e.row_term[m];
      const double term = (e.row_scale[m] * e.col_scale[n]) * exact;
      double& y = e.y[m * e.ldy + n];
      y = e.accumulate ? y + term : term;
    }
  }
}

void DotF32(const GemmTileF32& t) {
  for (int64_t m = 0; m < t.rows; ++m) {
    for (int64_t p = 0; p < t.panels; ++p) {
      const float* panel = t.b + p * t.panel_stride;
      for (int64_t j = 0; j < kPanelColumns; ++j) {
        float& y = t.y[m * t.ldy + p * kPanelColumns + j];
        float sum = t.accumulate ? y : 0.0f;
        for (int64_t k = 0; k < t.k; ++k) sum = std::fma(t.a[m * t.lda + k], panel[16 * k + j], sum);
        y = sum;
      }
    }
  }
}

void DotRowsS8(const RowsTile& t) {
  for (int64_t m = 0; m < t.rows; ++m) {
    const auto* a = reinterpret_cast<const int8_t*>(t.a + m * t.lda);
    for (int64_t j = 0; j < t.columns; ++j) {
      const auto* w = reinterpret_cast<const uint8_t*>(t.w + j * t.ldw);
      int32_t sum = 0;
      for (int64_t k = 0; k < t.k; ++k) sum += int32_t{uint8_t(w[k] ^ t.xor_mask)} * a[k];
      t.d[m * t.ldd + j] = sum;
    }
  }
}

void DotRowsU4(const RowsTile& t) {
  for (int64_t m = 0; m < t.rows; ++m) {
    const auto* a = reinterpret_cast<const int8_t*>(t.a + m * t.lda);
    for (int64_t j = 0; j < t.columns; ++j) {
      const auto* w = reinterpret_cast<const uint8_t*>(t.w + j * t.ldw);
      int32_t sum = 0;
      for (int64_t k = 0; k < t.k; ++k) {
        const int32_t nibble = ((w[k / 2] ^ t.xor_mask) >> (4 * (k % 2))) & 0xF;
        const int64_t block = k / kRowsBlockK, i = k % kRowsBlockK;
        sum += nibble * a[block * kRowsBlockK + (i % 2) * (kRowsBlockK / 2) + i / 2];
      }
      t.d[m * t.ldd + j] = sum;
    }
  }
}

// The direct product as its definition reads: each span's dot products,
// then the epilogue's arithmetic on them.
template <DotRowsFn kDot>
void RowsProductOf(const RowsProduct& p) {
  std::vector<int32_t> d(p.rows * p.columns);
  for (int64_t s = 0; s < p.span_count; ++s) {
    const RowsSpan& span = p.spans[s];
    RowsTile tile;
    tile.a = p.a + span.a_offset;
    tile.lda = p.lda;
    tile.w = p.w + span.w_offset;
    tile.ldw = p.ldw;
    tile.k = span.k;
    tile.xor_mask = p.xor_mask;
    tile.d = d.data();
    tile.ldd = p.columns;
    tile.rows = p.rows;
    tile.columns = p.columns;
    kDot(tile);
    for (int64_t m = 0; m < p.rows; ++m) {
      for (int64_t j = 0; j < p.columns; ++j) {
        const int32_t zero = p.zero_shift + (p.has_zero_points ? span.col_zero[j * p.col_zero_stride] : 0);
        const double exact = static_cast<double>(d[m * p.columns + j]) + zero * span.row_term[m];
        const double scale = span.col_scale[j * p.col_scale_stride];
        const double term = (p.row_scale[m] * scale) * exact;
        double& y = p.y[m * p.ldy + j];
        y = s > 0 ? y + term : term;
      }
    }
  }
}

// The source weight at (k, n), as the packed layout's integer.
int32_t SourceS8(const PackArgs& args, int64_t k, int64_t n) {
  const int64_t i = args.k_contiguous ? n * args.k_total + k : k * args.n_total + n;
  return static_cast<int8_t>(std::to_integer<uint8_t>(args.src[i]) ^ args.xor_mask);
}

int32_t SourceU4(const PackArgs& args, int64_t k, int64_t n) {
  const int64_t i = args.k_contiguous ? n * args.k_total + k : k * args.n_total + n;
  return static_cast<int32_t>(LoadCode(4, args.src, i) ^ args.xor_mask);
}

// Packs a span in steps of `step_k` k, calling place(step, k_in_step, j,
// value) for every weight inside the matrix; everything else stays zero.
template <typename Source, typename Place>
void PackSpan(const PackArgs& args, int64_t step_k, Source source, Place place) {
  const int64_t steps = (args.k_count + step_k - 1) / step_k;
  for (int64_t p = 0; p < args.panels; ++p) {
    std::byte* panel = args.dst + p * args.panel_stride;
    std::memset(panel, 0, steps * kPanelStepBytes);
    for (int64_t j = 0; j < kPanelColumns; ++j) {
      const int64_t n = args.n_begin + p * kPanelColumns + j;
      int32_t sum = 0;
      for (int64_t kk = 0; kk < args.k_count && n < args.n_total; ++kk) {
        const int32_t w = source(args, args.k_begin + kk, n);
        place(panel + kPanelStepBytes * (kk / step_k), static_cast<int>(kk % step_k), j, w);
        sum += w;
      }
      if (args.col_sums != nullptr) args.col_sums[p * kPanelColumns + j] = sum;
    }
  }
}

void PackS8(const PackArgs& args) {
  PackSpan(args, 4, SourceS8, [](std::byte* step, int r, int64_t j, int32_t w) {
    step[4 * j + r] = static_cast<std::byte>(w);
  });
}

void PackU4(const PackArgs& args) {
  PackSpan(args, 8, SourceU4, [](std::byte* step, int r, int64_t j, int32_t w) {
    step[4 * j + U4Byte(r)] |= static_cast<std::byte>(w << U4Shift(r));
  });
}

}  // namespace

const GemmKernels& GemmKernelsReference() {
  static const GemmKernels table{"scalar", &DotS8,  &DotU4,     &Epilogue,
                                 &DotF32,   &PackS8, &PackU4,    &DotRowsS8,
                                 &DotRowsU4, &RowsProductOf<&DotRowsS8>,
                                 &RowsProductOf<&DotRowsU4>};
  return table;
}

}  // namespace quantd
