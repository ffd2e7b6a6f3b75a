// AVX-512 NF4: the nearest of the 16 levels by a binary search over the
// decision boundaries in one register, the level by a table lookup in
// another (vpermps); packed as INT4 is, an odd head and the tail by the
// reference.
#include "kernels/avx512/formats_avx512.h"
#include "kernels/avx512/simd_avx512.h"

namespace quantd {
namespace {

// CodebookThresholds (codebook_thresholds.h) of the 15 boundaries, in
// lanes 0..14, computed in the register: scalar stores read back as one
// vector would stall every span. The float below an odd boundary is one
// step towards -inf in sign-magnitude bits; both zeros step to the negative
// denormal closest to zero.
__m512 Thresholds(const float* boundaries) {
  const __m512i b = _mm512_castps_si512(_mm512_maskz_loadu_ps(0x7fff, boundaries));
  const __m512i one = _mm512_set1_epi32(1);
  const __mmask16 positive = _mm512_cmpgt_epi32_mask(b, _mm512_setzero_si512());
  const __m512i negative_below =
      _mm512_add_epi32(_mm512_or_si512(b, _mm512_set1_epi32(static_cast<int>(0x80000000u))), one);
  const __m512i below = _mm512_mask_sub_epi32(negative_below, positive, b, one);
  return _mm512_castsi512_ps(_mm512_mask_mov_epi32(b, 0xaaaa, below));
}

}  // namespace

int64_t QuantizeNf4Avx512(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  const float* levels = args.params.levels;
  const float* boundaries = args.params.boundaries;
  const __m512 table = _mm512_loadu_ps(levels);
  const __m512 thresholds = Thresholds(boundaries);
  // Threshold 7 in every lane. (The zero-masking form with every lane set
  // is the plain permutation; the plain intrinsic draws GCC 12's false
  // warning about its undefined pass-through operand.)
  const __m512 middle = _mm512_maskz_permutexvar_ps(0xffff, _mm512_set1_epi32(7), thresholds);
  // Beyond an end level by more than half its gap to the neighbour, as the
  // reference computes it.
  const __m512 low_edge = _mm512_set1_ps(levels[0] - (boundaries[0] - levels[0]));
  const __m512 high_edge = _mm512_set1_ps(levels[15] + (levels[15] - boundaries[14]));
  std::byte* const dst = args.dst;
  return QuantizeNibbleSpan(args, span, sums, [=](__m512 v, __m512, int64_t i, ClipCounter* clipped) {
    // code = the number of thresholds below v,
    // found in four halvings of the 15: the lanes above threshold
    // code + step - 1 add step.
    __m512i code = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(v, middle, _CMP_GT_OQ),
                                          _mm512_set1_epi32(8));
    for (int step = 4; step >= 1; step /= 2) {
      const __m512 threshold = _mm512_permutexvar_ps(
          _mm512_add_epi32(code, _mm512_set1_epi32(step - 1)), thresholds);
      code = _mm512_mask_add_epi32(code, _mm512_cmp_ps_mask(v, threshold, _CMP_GT_OQ), code,
                                   _mm512_set1_epi32(step));
    }
    clipped->Add(_mm512_cmp_ps_mask(v, low_edge, _CMP_LT_OQ) |
                 _mm512_cmp_ps_mask(v, high_edge, _CMP_GT_OQ));
    StoreNibbles(dst + i / 2, code);
    return _mm512_permutexvar_ps(code, table);
  });
}

void DequantizeNf4Avx512(const DequantizeArgs& args, SlotSpan span) {
  const __m512 table = _mm512_loadu_ps(args.params.levels);
  const std::byte* const src = args.src;
  DequantizeNibbleSpan(args, span, [=](int64_t i, __m512) {
    return _mm512_permutexvar_ps(LoadNibbles(src + i / 2, false), table);
  });
}

}  // namespace quantd
