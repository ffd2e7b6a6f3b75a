// AVX2 NF4: the nearest of the 16 levels by counting the decision
// boundaries below each value, the level by a table lookup in two halves
// (vpermps); packed as INT4 is, an odd head and the tail by the reference.
#include "kernels/avx2/formats_avx2.h"
#include "kernels/avx2/simd_avx2.h"
#include "kernels/codebook_thresholds.h"

namespace quantd {
namespace {

constexpr int kBoundaries = 15;

// The 16 levels in two registers of 8: element code & 7 of the half that
// bit 3 of the code picks.
struct LevelTable {
  __m256 low, high;

  explicit LevelTable(const float* levels)
      : low(_mm256_loadu_ps(levels)), high(_mm256_loadu_ps(levels + 8)) {}

  __m256 Lookup(__m256i code) const {
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(low, code),
                            _mm256_permutevar8x32_ps(high, code),
                            _mm256_castsi256_ps(_mm256_slli_epi32(code, 28)));
  }
};

}  // namespace

int64_t QuantizeNf4Avx2(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const float* levels = args.params.levels;
  const float* boundaries = args.params.boundaries;
  float t[kBoundaries];
  CodebookThresholds(boundaries, kBoundaries, t);
  __m256 thresholds[kBoundaries];
  for (int j = 0; j < kBoundaries; ++j) thresholds[j] = _mm256_set1_ps(t[j]);
  const LevelTable table(levels);
  // Beyond an end level by more than half its gap to the neighbour, as the
  // reference computes it.
  const __m256 low_edge = _mm256_set1_ps(levels[0] - (boundaries[0] - levels[0]));
  const __m256 high_edge = _mm256_set1_ps(levels[15] + (levels[15] - boundaries[14]));
  std::byte* const dst = args.dst;
  return QuantizeNibbleSpan(args, span, sums, [&](__m256 v, __m256, int64_t i, ClipCounter* clipped) {
    // code = the number of thresholds below v (codebook_thresholds.h);
    // each comparison is all ones (-1) where v is above the threshold.
    __m256i code = _mm256_setzero_si256();
    for (int j = 0; j < kBoundaries; ++j) {
      code = _mm256_sub_epi32(code, _mm256_castps_si256(_mm256_cmp_ps(v, thresholds[j], _CMP_GT_OQ)));
    }
    clipped->Add(_mm256_or_ps(_mm256_cmp_ps(v, low_edge, _CMP_LT_OQ),
                              _mm256_cmp_ps(v, high_edge, _CMP_GT_OQ)));
    StoreNibbles(dst + i / 2, code);
    return table.Lookup(code);
  });
}

void DequantizeNf4Avx2(const DequantizeArgs& args, SlotSpan span) {
  const LevelTable table(args.params.levels);
  const std::byte* const src = args.src;
  DequantizeNibbleSpan(args, span, [=](int64_t i, __m256) {
    return table.Lookup(LoadNibbles(src + i / 2, false));
  });
}

}  // namespace quantd
