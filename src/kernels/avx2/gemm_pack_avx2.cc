// AVX2 packing of S8 and U4 panels (layouts in kernels/gemm.h), bit for bit
// the reference's, column sums included.
//
// [N, K] sources (k_contiguous): a panel's 16 rows of 32 bytes are 8 steps
// of 16 columns once their 32-bit words are transposed (two 8x8
// transposes, columns 0-7 and 8-15), for S8 (one quad per word) and for U4
// from whole bytes (one octet per word). A ragged row (the span's end, a
// column past N) is copied into a buffer first, padded with the xor pattern
// so that padding packs as zero.
// [K, N] sources: 4 rows of 32 columns (for U4, 4 pairs of rows, the pair's
// nibbles merged into a byte a column) interleave into steps of 2 panels.
// U4 from nibbles that do not start on a byte of every row (an odd first k
// of [N, K], an odd N or first column of [K, N]) takes the reference.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

namespace quantd {
namespace {

// 8x8 transpose of 32-bit words: word q of r[j] becomes word j of r[q].
[[gnu::always_inline]] inline void Transpose8x8(__m256i r[8]) {
  __m256i a[8], b[8];
  for (int i = 0; i < 8; i += 2) {
    a[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
    a[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
  }
  // b[4 i + c], lane L: word 4 L + c of rows 4 i .. 4 i + 3.
  for (int i = 0; i < 8; i += 4) {
    b[i + 0] = _mm256_unpacklo_epi64(a[i], a[i + 2]);
    b[i + 1] = _mm256_unpackhi_epi64(a[i], a[i + 2]);
    b[i + 2] = _mm256_unpacklo_epi64(a[i + 1], a[i + 3]);
    b[i + 3] = _mm256_unpackhi_epi64(a[i + 1], a[i + 3]);
  }
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm256_permute2x128_si256(b[c], b[4 + c], 0x20);
    r[4 + c] = _mm256_permute2x128_si256(b[c], b[4 + c], 0x31);
  }
}

// Sums of adjacent byte pairs as int16: signed weights (S8) or the two
// nibbles of each byte (U4).
template <bool kNibbles>
[[gnu::always_inline]] inline __m256i PairSums(__m256i v) {
  if constexpr (kNibbles) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    const __m256i nibbles =
        _mm256_add_epi8(_mm256_and_si256(v, low), _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
    return _mm256_maddubs_epi16(nibbles, _mm256_set1_epi8(1));
  } else {
    return _mm256_maddubs_epi16(_mm256_set1_epi8(1), v);
  }
}

// 32 bytes from `row` of which the first `avail` exist (a low nibble only in
// the last one when `half`), the rest the xor pattern `pattern`.
__m256i LoadRagged(const uint8_t* row, int64_t avail, bool half, uint8_t pattern) {
  alignas(32) uint8_t buffer[32];
  std::memset(buffer, pattern, sizeof(buffer));
  if (avail > 0) {
    const int64_t n = std::min<int64_t>(avail, 32);
    std::memcpy(buffer, row, n);
    if (half && avail <= 32) buffer[n - 1] = static_cast<uint8_t>((buffer[n - 1] & 0x0F) | (pattern & 0xF0));
  }
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(buffer));
}

// Columns 8 h .. 8 h + 7 of a block of 8 steps: their 8 rows transposed,
// the first n_steps steps stored at `block`, the column sums added to
// `sums`.
template <bool kNibbles, bool kSums>
[[gnu::always_inline]] inline void FinishHalf(__m256i r[8], uint8_t* block, int h, int64_t n_steps,
                                              __m256i* sums) {
  Transpose8x8(r);
  if (n_steps == 8) {
    for (int q = 0; q < 8; ++q)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + 64 * q + 32 * h), r[q]);
  } else {
    for (int q = 0; q < n_steps; ++q)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + 64 * q + 32 * h), r[q]);
  }
  if constexpr (kSums) {
    __m256i pairs = PairSums<kNibbles>(r[0]);
    for (int q = 1; q < 8; ++q) pairs = _mm256_add_epi16(pairs, PairSums<kNibbles>(r[q]));
    *sums = _mm256_add_epi32(*sums, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
}

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
  const bool half = kNibbles && (kc & 1) != 0;
  const auto pattern = static_cast<uint8_t>(kNibbles ? args.xor_mask * 0x11 : args.xor_mask);
  const __m256i xorv = _mm256_set1_epi8(static_cast<char>(pattern));
  for (int64_t p = 0; p < args.panels; ++p) {
    const int64_t n0 = args.n_begin + p * kPanelColumns;
    const int64_t valid_rows = std::clamp<int64_t>(args.n_total - n0, 0, kPanelColumns);
    const uint8_t* rows = src + std::min(n0, args.n_total) * row_bytes + first;
    auto* out = reinterpret_cast<uint8_t*>(args.dst + p * args.panel_stride);
    __m256i sums[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};  // Columns 0-7, 8-15.
    int64_t s0 = 0;  // 8 steps (32 bytes of each row) a block.
    if (valid_rows == kPanelColumns) {
      for (; 4 * s0 + 32 <= full_bytes; s0 += 8) {
        for (int h = 0; h < 2; ++h) {
          __m256i r[8];
          for (int j = 0; j < 8; ++j) {
            const uint8_t* row = rows + (8 * h + j) * row_bytes + 4 * s0;
            r[j] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row)), xorv);
          }
          FinishHalf<kNibbles, kSums>(r, out + kPanelStepBytes * s0, h, 8, &sums[h]);
        }
      }
    }
    for (; s0 < steps; s0 += 8) {
      const int64_t avail = span_bytes - 4 * s0;
      for (int h = 0; h < 2; ++h) {
        __m256i r[8];
        for (int j = 0; j < 8; ++j) {
          const uint8_t* row = rows + (8 * h + j) * row_bytes + 4 * s0;
          r[j] = _mm256_xor_si256(LoadRagged(row, 8 * h + j < valid_rows ? avail : 0, half, pattern), xorv);
        }
        FinishHalf<kNibbles, kSums>(r, out + kPanelStepBytes * s0, h, std::min<int64_t>(8, steps - s0),
                                    &sums[h]);
      }
    }
    if constexpr (kSums) {
      for (int h = 0; h < 2; ++h) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(args.col_sums + p * kPanelColumns + 8 * h), sums[h]);
      }
    }
  }
}

// Row i of step s of a [K, N] source, 32 columns, xored, zero past the
// span and past N: the S8 weights of k = 4 s + i, or the U4 weights of
// k = 8 s + 2 i (low nibbles) and 8 s + 2 i + 1 (high nibbles), a column a
// byte.
template <bool kNibbles>
[[gnu::always_inline]] inline __m256i KMajorRow(const uint8_t* base, int64_t row_bytes, int64_t kc, int64_t s,
                                                int i, bool whole, int64_t columns, uint8_t pattern) {
  const __m256i xorv = _mm256_set1_epi8(static_cast<char>(pattern));
  if constexpr (!kNibbles) {
    const int64_t k = 4 * s + i;
    const uint8_t* row = base + k * row_bytes;
    if (whole) return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row)), xorv);
    return _mm256_xor_si256(k < kc ? LoadRagged(row, columns, false, pattern) : xorv, xorv);
  } else {
    const int64_t k = 8 * s + 2 * i;
    const uint8_t* row = base + k * row_bytes;
    __m128i low, high;  // Rows k and k + 1: 16 bytes, 2 columns each.
    if (whole) {
      low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row));
      high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + row_bytes));
    } else {
      low = _mm256_castsi256_si128(k < kc ? LoadRagged(row, columns / 2, false, pattern) : xorv);
      high = _mm256_castsi256_si128(k + 1 < kc ? LoadRagged(row + row_bytes, columns / 2, false, pattern)
                                               : xorv);
    }
    low = _mm_xor_si128(low, _mm256_castsi256_si128(xorv));
    high = _mm_xor_si128(high, _mm256_castsi256_si128(xorv));
    const __m128i nibble = _mm_set1_epi8(0x0F);
    const __m128i even =
        _mm_or_si128(_mm_and_si128(low, nibble), _mm_andnot_si128(nibble, _mm_slli_epi16(high, 4)));
    const __m128i odd =
        _mm_or_si128(_mm_and_si128(_mm_srli_epi16(low, 4), nibble), _mm_andnot_si128(nibble, high));
    return _mm256_set_m128i(_mm_unpackhi_epi8(even, odd), _mm_unpacklo_epi8(even, odd));
  }
}

// A span of a [K, N] source (for U4, N and the first column even): 16
// steps at a time down the rows, 2 panels at a time across.
template <bool kNibbles, bool kSums>
void PackKMajor(const PackArgs& args) {
  const auto* src = reinterpret_cast<const uint8_t*>(args.src);
  const int64_t kc = args.k_count;
  const int64_t step_k = kNibbles ? 8 : 4;
  const int64_t steps = (kc + step_k - 1) / step_k;
  const int64_t row_bytes = kNibbles ? args.n_total / 2 : args.n_total;
  const auto pattern = static_cast<uint8_t>(kNibbles ? args.xor_mask * 0x11 : args.xor_mask);
  const __m256i ones16 = _mm256_set1_epi16(1);
  if constexpr (kSums) std::memset(args.col_sums, 0, sizeof(int32_t) * kPanelColumns * args.panels);
  for (int64_t s0 = 0; s0 < steps; s0 += 16) {
    const int64_t s1 = std::min(steps, s0 + 16);
    for (int64_t g = 0; g < args.panels; g += 2) {
      const bool both = g + 1 < args.panels;
      const int64_t n0 = std::min(args.n_begin + g * kPanelColumns, args.n_total);
      const int64_t columns = std::min<int64_t>(args.n_total - n0, 32);
      const uint8_t* base =
          src + (kNibbles ? (args.k_begin * args.n_total + n0) / 2 : args.k_begin * args.n_total + n0);
      auto* out = reinterpret_cast<uint8_t*>(args.dst + g * args.panel_stride);
      __m256i pairs[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                          _mm256_setzero_si256()};
      for (int64_t s = s0; s < s1; ++s) {
        const bool whole = columns == 32 && step_k * (s + 1) <= kc;
        __m256i r[4];
        for (int i = 0; i < 4; ++i)
          r[i] = KMajorRow<kNibbles>(base, row_bytes, kc, s, i, whole, columns, pattern);
        const __m256i a0 = _mm256_unpacklo_epi8(r[0], r[1]), a1 = _mm256_unpackhi_epi8(r[0], r[1]);
        const __m256i a2 = _mm256_unpacklo_epi8(r[2], r[3]), a3 = _mm256_unpackhi_epi8(r[2], r[3]);
        // v[i], lane l: columns 4 i .. 4 i + 3 of panel l.
        const __m256i v[4] = {_mm256_unpacklo_epi16(a0, a2), _mm256_unpackhi_epi16(a0, a2),
                              _mm256_unpacklo_epi16(a1, a3), _mm256_unpackhi_epi16(a1, a3)};
        if constexpr (kSums) {
          for (int i = 0; i < 4; ++i) pairs[i] = _mm256_add_epi16(pairs[i], PairSums<kNibbles>(v[i]));
        }
        uint8_t* step = out + 64 * s;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(step), _mm256_permute2x128_si256(v[0], v[1], 0x20));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(step + 32),
                            _mm256_permute2x128_si256(v[2], v[3], 0x20));
        if (both) {
          step += args.panel_stride;
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(step), _mm256_permute2x128_si256(v[0], v[1], 0x31));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(step + 32),
                              _mm256_permute2x128_si256(v[2], v[3], 0x31));
        }
      }
      if constexpr (kSums) {
        for (int i = 0; i < 4; ++i) pairs[i] = _mm256_madd_epi16(pairs[i], ones16);
        // Panel l's columns 0-7 and 8-15: lane l of pairs[0], pairs[1] and of pairs[2], pairs[3].
        const __m256i panel_sums[2][2] = {{_mm256_permute2x128_si256(pairs[0], pairs[1], 0x20),
                                           _mm256_permute2x128_si256(pairs[2], pairs[3], 0x20)},
                                          {_mm256_permute2x128_si256(pairs[0], pairs[1], 0x31),
                                           _mm256_permute2x128_si256(pairs[2], pairs[3], 0x31)}};
        for (int l = 0; l < (both ? 2 : 1); ++l) {
          for (int h = 0; h < 2; ++h) {
            auto* sums = reinterpret_cast<__m256i*>(args.col_sums + (g + l) * kPanelColumns + 8 * h);
            _mm256_storeu_si256(sums, _mm256_add_epi32(_mm256_loadu_si256(sums), panel_sums[l][h]));
          }
        }
      }
    }
  }
}

}  // namespace

void PackS8Avx2(const PackArgs& args) {
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

void PackU4Avx2(const PackArgs& args) {
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
