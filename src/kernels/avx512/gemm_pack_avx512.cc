// AVX-512 packing of S8 and U4 panels (layouts in kernels/gemm.h), bit for
// bit the reference's, column sums included.
//
// [N, K] sources (k_contiguous): a panel's 16 rows of 64 bytes are 16
// steps of 16 columns once their 32-bit words are transposed, for S8 (one
// quad per word) and for U4 from whole bytes (one octet per word). Ragged
// blocks (the span's end, columns past N) load under a byte mask with the
// xor pattern as pass-through, so that padding packs as zero.
// [K, N] sources: 4 rows of 64 columns (for U4, 4 pairs of rows, the pair's
// nibbles merged into a byte a column) interleave into steps of 4 panels.
// U4 from nibbles that do not start on a byte of every row (an odd first k
// of [N, K], an odd N or first column of [K, N]) takes the reference.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

// GCC 12 warns falsely about the _mm512_undefined_epi32 () of its own
// unpack and shuffle intrinsics (as -Wno-maybe-uninitialized in
// src/CMakeLists.txt, for the plain form of the warning).
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace quantd {
namespace {

// Lane transpose of 4 vectors of 4 128-bit lanes: lane i of the result L
// is lane L of x[i].
[[gnu::always_inline]] inline void TransposeLanes4(__m512i x[4]) {
  const __m512i s0 = _mm512_shuffle_i32x4(x[0], x[1], 0x44);
  const __m512i s1 = _mm512_shuffle_i32x4(x[0], x[1], 0xEE);
  const __m512i s2 = _mm512_shuffle_i32x4(x[2], x[3], 0x44);
  const __m512i s3 = _mm512_shuffle_i32x4(x[2], x[3], 0xEE);
  x[0] = _mm512_shuffle_i32x4(s0, s2, 0x88);
  x[1] = _mm512_shuffle_i32x4(s0, s2, 0xDD);
  x[2] = _mm512_shuffle_i32x4(s1, s3, 0x88);
  x[3] = _mm512_shuffle_i32x4(s1, s3, 0xDD);
}

// 16x16 transpose of 32-bit words: word q of r[j] becomes word j of r[q].
[[gnu::always_inline]] inline void Transpose16x16(__m512i r[16]) {
  __m512i a[16], b[16];
  for (int i = 0; i < 16; i += 2) {
    a[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    a[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  // b[4 i + c], lane L: word 4 L + c of rows 4 i .. 4 i + 3.
  for (int i = 0; i < 16; i += 4) {
    b[i + 0] = _mm512_unpacklo_epi64(a[i], a[i + 2]);
    b[i + 1] = _mm512_unpackhi_epi64(a[i], a[i + 2]);
    b[i + 2] = _mm512_unpacklo_epi64(a[i + 1], a[i + 3]);
    b[i + 3] = _mm512_unpackhi_epi64(a[i + 1], a[i + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    __m512i x[4] = {b[c], b[4 + c], b[8 + c], b[12 + c]};
    TransposeLanes4(x);
    for (int l = 0; l < 4; ++l) r[4 * l + c] = x[l];
  }
}

// Sums of adjacent byte pairs as int16: signed weights (S8) or the two
// nibbles of each byte (U4).
template <bool kNibbles>
[[gnu::always_inline]] inline __m512i PairSums(__m512i v) {
  if constexpr (kNibbles) {
    const __m512i low = _mm512_set1_epi8(0x0F);
    const __m512i nibbles =
        _mm512_add_epi8(_mm512_and_si512(v, low), _mm512_and_si512(_mm512_srli_epi16(v, 4), low));
    return _mm512_maddubs_epi16(nibbles, _mm512_set1_epi8(1));
  } else {
    return _mm512_maddubs_epi16(_mm512_set1_epi8(1), v);
  }
}

__mmask64 FirstBytes(int64_t n) {
  if (n <= 0) return 0;
  return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
}

// The end of a block of 16 rows: transposed, its first n_steps steps
// stored at `block`, its column sums added to `sums`.
template <bool kNibbles, bool kSums>
[[gnu::always_inline]] inline void FinishBlock(__m512i r[16], uint8_t* block, int64_t n_steps,
                                               __m512i* sums) {
  Transpose16x16(r);
  if (n_steps == 16) {
    for (int q = 0; q < 16; ++q) _mm512_storeu_si512(block + 64 * q, r[q]);
  } else {
    for (int q = 0; q < n_steps; ++q) _mm512_storeu_si512(block + 64 * q, r[q]);
  }
  if constexpr (kSums) {
    __m512i pairs = PairSums<kNibbles>(r[0]);
    for (int q = 1; q < 16; ++q) pairs = _mm512_add_epi16(pairs, PairSums<kNibbles>(r[q]));
    *sums = _mm512_add_epi32(*sums, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
  }
}

// How far ahead each of a panel's 16 rows is prefetched: more streams than
// the hardware prefetcher follows.
constexpr int64_t kPrefetchBytes = 512;

// A span of an [N, K] source with every row's span starting on a byte.
template <bool kNibbles, bool kSums>
void PackKContiguous(const PackArgs& args) {
  const auto* src = reinterpret_cast<const uint8_t*>(args.src);
  const int64_t kc = args.k_count;
  const int64_t steps = kNibbles ? (kc + 7) / 8 : (kc + 3) / 4;
  const int64_t row_bytes = kNibbles ? args.k_total / 2 : args.k_total;
  const int64_t first = kNibbles ? args.k_begin / 2 : args.k_begin;
  const int64_t span_bytes = kNibbles ? (kc + 1) / 2 : kc;  // Read per row.
  const int64_t full_bytes = kNibbles ? kc / 2 : kc;        // Without a half byte.
  const __m512i xorv = _mm512_set1_epi8(static_cast<char>(kNibbles ? args.xor_mask * 0x11 : args.xor_mask));
  for (int64_t p = 0; p < args.panels; ++p) {
    const int64_t n0 = args.n_begin + p * kPanelColumns;
    const int64_t valid_rows = std::clamp<int64_t>(args.n_total - n0, 0, kPanelColumns);
    const uint8_t* rows = src + std::min(n0, args.n_total) * row_bytes + first;
    auto* out = reinterpret_cast<uint8_t*>(args.dst + p * args.panel_stride);
    __m512i sums = _mm512_setzero_si512();
    int64_t s0 = 0;  // 16 steps (64 bytes of each row) a block.
    if (valid_rows == kPanelColumns) {
      for (; 4 * s0 + 64 <= full_bytes; s0 += 16) {
        __m512i r[16];
        for (int j = 0; j < 16; ++j) {
          _mm_prefetch(reinterpret_cast<const char*>(rows + j * row_bytes + 4 * s0) + kPrefetchBytes, _MM_HINT_T0);
          r[j] = _mm512_xor_si512(_mm512_loadu_si512(rows + j * row_bytes + 4 * s0), xorv);
        }
        FinishBlock<kNibbles, kSums>(r, out + kPanelStepBytes * s0, 16, &sums);
      }
    }
    for (; s0 < steps; s0 += 16) {
      const int64_t avail = span_bytes - 4 * s0;
      const __mmask64 mask = FirstBytes(avail);
      __m512i r[16];
      for (int j = 0; j < 16; ++j) {
        const __mmask64 row_mask = j < valid_rows ? mask : 0;
        r[j] = _mm512_xor_si512(_mm512_mask_loadu_epi8(xorv, row_mask, rows + j * row_bytes + 4 * s0), xorv);
      }
      if (kNibbles && (kc & 1) != 0 && avail <= 64) {  // The span ends in a low nibble.
        const __m512i keep =
            _mm512_mask_blend_epi8(__mmask64{1} << (avail - 1), _mm512_set1_epi8(-1), _mm512_set1_epi8(0x0F));
        for (int j = 0; j < 16; ++j) r[j] = _mm512_and_si512(r[j], keep);
      }
      FinishBlock<kNibbles, kSums>(r, out + kPanelStepBytes * s0, std::min<int64_t>(16, steps - s0), &sums);
    }
    if constexpr (kSums) _mm512_storeu_si512(args.col_sums + p * kPanelColumns, sums);
  }
}

// Row i of step s of a [K, N] source, 64 columns, xored, zero past the
// span and past N (loaded with the xor pattern there): the S8 weights of
// k = 4 s + i, or the U4 weights of k = 8 s + 2 i (low nibbles) and
// 8 s + 2 i + 1 (high nibbles), a column a byte.
template <bool kNibbles>
[[gnu::always_inline]] inline __m512i KMajorRow(const uint8_t* base, int64_t row_bytes, int64_t kc, int64_t s,
                                                int i, bool whole, int64_t columns, __m512i xorv) {
  if constexpr (!kNibbles) {
    const int64_t k = 4 * s + i;
    const uint8_t* row = base + k * row_bytes;
    if (whole) return _mm512_xor_si512(_mm512_loadu_si512(row), xorv);
    return _mm512_xor_si512(_mm512_mask_loadu_epi8(xorv, k < kc ? FirstBytes(columns) : 0, row), xorv);
  } else {
    const int64_t k = 8 * s + 2 * i;
    const uint8_t* row = base + k * row_bytes;
    const __m256i xor_half = _mm512_castsi512_si256(xorv);
    __m256i low, high;  // Rows k and k + 1: 32 bytes, 2 columns each.
    if (whole) {
      low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row));
      high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + row_bytes));
    } else {
      const auto mask = static_cast<__mmask32>(FirstBytes(columns / 2));
      low = _mm256_mask_loadu_epi8(xor_half, k < kc ? mask : 0, row);
      high = _mm256_mask_loadu_epi8(xor_half, k + 1 < kc ? mask : 0, row + row_bytes);
    }
    low = _mm256_xor_si256(low, xor_half);
    high = _mm256_xor_si256(high, xor_half);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i even = _mm256_or_si256(_mm256_and_si256(low, nibble),
                                         _mm256_andnot_si256(nibble, _mm256_slli_epi16(high, 4)));
    const __m256i odd = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low, 4), nibble),
                                        _mm256_andnot_si256(nibble, high));
    // Columns 0-15, 32-47, 16-31, 48-63, then in order.
    const __m512i mixed = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_unpacklo_epi8(even, odd)),
                                             _mm256_unpackhi_epi8(even, odd), 1);
    return _mm512_shuffle_i32x4(mixed, mixed, 0xD8);
  }
}

// A span of a [K, N] source (for U4, N and the first column even): 16
// steps at a time down the rows, 4 panels at a time across, so that the
// rows' lines are read whole.
template <bool kNibbles, bool kSums>
void PackKMajor(const PackArgs& args) {
  const auto* src = reinterpret_cast<const uint8_t*>(args.src);
  const int64_t kc = args.k_count;
  const int64_t step_k = kNibbles ? 8 : 4;
  const int64_t steps = (kc + step_k - 1) / step_k;
  const int64_t row_bytes = kNibbles ? args.n_total / 2 : args.n_total;
  const __m512i xorv = _mm512_set1_epi8(static_cast<char>(kNibbles ? args.xor_mask * 0x11 : args.xor_mask));
  const __m512i ones16 = _mm512_set1_epi16(1);
  if constexpr (kSums) std::memset(args.col_sums, 0, sizeof(int32_t) * kPanelColumns * args.panels);
  for (int64_t s0 = 0; s0 < steps; s0 += 16) {
    const int64_t s1 = std::min(steps, s0 + 16);
    for (int64_t g = 0; g < args.panels; g += 4) {
      const int64_t group_panels = std::min<int64_t>(4, args.panels - g);
      const int64_t n0 = std::min(args.n_begin + g * kPanelColumns, args.n_total);
      const int64_t columns = std::min<int64_t>(args.n_total - n0, 64);
      const uint8_t* base =
          src + (kNibbles ? (args.k_begin * args.n_total + n0) / 2 : args.k_begin * args.n_total + n0);
      std::byte* out = args.dst + g * args.panel_stride;
      __m512i pairs[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                          _mm512_setzero_si512()};
      for (int64_t s = s0; s < s1; ++s) {
        const bool whole = columns == 64 && step_k * (s + 1) <= kc;
        __m512i r[4];
        for (int i = 0; i < 4; ++i)
          r[i] = KMajorRow<kNibbles>(base, row_bytes, kc, s, i, whole, columns, xorv);
        const __m512i a0 = _mm512_unpacklo_epi8(r[0], r[1]), a1 = _mm512_unpackhi_epi8(r[0], r[1]);
        const __m512i a2 = _mm512_unpacklo_epi8(r[2], r[3]), a3 = _mm512_unpackhi_epi8(r[2], r[3]);
        // v[i], lane l: columns 4 i .. 4 i + 3 of panel l.
        __m512i v[4] = {_mm512_unpacklo_epi16(a0, a2), _mm512_unpackhi_epi16(a0, a2),
                        _mm512_unpacklo_epi16(a1, a3), _mm512_unpackhi_epi16(a1, a3)};
        if constexpr (kSums) {
          for (int i = 0; i < 4; ++i) pairs[i] = _mm512_add_epi16(pairs[i], PairSums<kNibbles>(v[i]));
        }
        TransposeLanes4(v);
        if (group_panels == 4) {
          for (int l = 0; l < 4; ++l) _mm512_storeu_si512(out + l * args.panel_stride + 64 * s, v[l]);
        } else {
          for (int l = 0; l < group_panels; ++l)
            _mm512_storeu_si512(out + l * args.panel_stride + 64 * s, v[l]);
        }
      }
      if constexpr (kSums) {
        for (int i = 0; i < 4; ++i) pairs[i] = _mm512_madd_epi16(pairs[i], ones16);
        TransposeLanes4(pairs);
        for (int l = 0; l < group_panels; ++l) {
          int32_t* sums = args.col_sums + (g + l) * kPanelColumns;
          _mm512_storeu_si512(sums, _mm512_add_epi32(_mm512_loadu_si512(sums), pairs[l]));
        }
      }
    }
  }
}

}  // namespace

void PackS8Avx512(const PackArgs& args) {
  if (args.k_count <= 0) {
    if (args.col_sums != nullptr)
      std::memset(args.col_sums, 0, sizeof(int32_t) * kPanelColumns * args.panels);
    return;
  }
  if (args.k_contiguous) {
    if (args.col_sums != nullptr) {
      PackKContiguous<false, true>(args);
    } else {
      PackKContiguous<false, false>(args);
    }
  } else if (args.col_sums != nullptr) {
    PackKMajor<false, true>(args);
  } else {
    PackKMajor<false, false>(args);
  }
}

void PackU4Avx512(const PackArgs& args) {
  if (args.k_count <= 0) {
    GemmKernelsReference().pack_u4(args);
    return;
  }
  const bool sums = args.col_sums != nullptr;
  if (args.k_contiguous) {
    // Whole bytes only where every row's span starts on a byte.
    if (args.k_begin % 2 != 0 || (args.k_total % 2 != 0 && args.n_total > 1)) {
      GemmKernelsReference().pack_u4(args);
    } else if (sums) {
      PackKContiguous<true, true>(args);
    } else {
      PackKContiguous<true, false>(args);
    }
  } else if (args.n_total % 2 != 0 || args.n_begin % 2 != 0) {
    GemmKernelsReference().pack_u4(args);
  } else if (sums) {
    PackKMajor<true, true>(args);
  } else {
    PackKMajor<true, false>(args);
  }
}

}  // namespace quantd
