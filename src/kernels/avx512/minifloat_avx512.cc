// AVX-512 casts to and from the small floats: FLOAT8_E4M3FN and
// FLOAT8_E5M2 rounded in float arithmetic, BFLOAT16 from float32 bits,
// FLOAT16 with F16C. Quantizing rounds to nearest even and saturates to
// the largest finite value, counting it as clipped, as the reference's
// EncodeMiniFloat; decoding gives the reference's DecodeMiniFloat values,
// its quiet NaN included.
#include "kernels/avx512/formats_avx512.h"
#include "kernels/avx512/simd_avx512.h"

namespace quantd {
namespace {

// The float32 bit patterns these casts work with.
constexpr uint32_t kSignBit = 0x80000000u;
constexpr uint32_t kQuietNaN = 0x7fc00000u;  // std::numeric_limits<float>::quiet_NaN().
constexpr uint32_t kInfinity = 0x7f800000u;

__m512i Bits(uint32_t b) { return _mm512_set1_epi32(static_cast<int>(b)); }

// A float format with kMantissa mantissa bits, exponent bias kBias and
// largest finite value kMaxBits (as float32 bits), from float32 bits.
template <int kMantissa, int kBias, uint32_t kMaxBits>
struct BitCast {
  static constexpr int kDropped = 23 - kMantissa;  // Float32 mantissa bits dropped.
  // Code = float32 bits >> kDropped, less the difference of the biases.
  static constexpr uint32_t kRebias = static_cast<uint32_t>(127 - kBias) << kMantissa;
  static constexpr uint32_t kMaxCode = (kMaxBits >> kDropped) - kRebias;
  static constexpr uint32_t kMinNormal = static_cast<uint32_t>(128 - kBias) << 23;  // 2^(1-bias).
  // 2^(1 - bias - kMantissa + 23): its float32 spacing is the format's
  // subnormal spacing.
  static constexpr uint32_t kMagic = static_cast<uint32_t>(127 + 1 - kBias - kMantissa + 23) << 23;

  // The codes of v's 16 lanes, the sign moved down by sign_shift from
  // float32's bit 31, and their values in *level.
  static __m512i Encode(__m512 v, int sign_shift, __m512* level, ClipCounter* clipped) {
    const __m512i bits = _mm512_castps_si512(v);
    const __m512i sign = _mm512_and_si512(bits, Bits(kSignBit));
    const __m512i u = _mm512_andnot_si512(Bits(kSignBit), bits);
    // Normal binades: round the dropped bits to nearest even; a carry moves
    // into the exponent, past max_finite into the clipped range (or to the
    // infinity bits, which compare above it too).
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, kDropped), Bits(1));
    const __m512i half = Bits((1u << (kDropped - 1)) - 1);
    const __m512i r = _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(u, half), lsb),
                                       Bits(~((1u << kDropped) - 1)));
    const __mmask16 clip = _mm512_cmpgt_epu32_mask(r, Bits(kMaxBits));
    // Below the smallest normal: adding kMagic rounds |v| to the subnormal
    // spacing, to nearest even, in the float addition; the code is the
    // number of spacings, and 2^kMantissa of them is the smallest normal.
    const __mmask16 subnormal = _mm512_cmplt_epu32_mask(u, Bits(kMinNormal));
    const __m512 magic = _mm512_castsi512_ps(Bits(kMagic));
    const __m512 s = _mm512_add_ps(_mm512_castsi512_ps(u), magic);
    __m512i code = _mm512_sub_epi32(_mm512_srli_epi32(r, kDropped), Bits(kRebias));
    code = _mm512_mask_mov_epi32(code, clip, Bits(kMaxCode));
    code = _mm512_mask_mov_epi32(code, subnormal,
                                 _mm512_sub_epi32(_mm512_castps_si512(s), Bits(kMagic)));
    __m512i magnitude = _mm512_mask_mov_epi32(r, clip, Bits(kMaxBits));
    magnitude = _mm512_mask_mov_epi32(magnitude, subnormal,
                                      _mm512_castps_si512(_mm512_sub_ps(s, magic)));
    *level = _mm512_castsi512_ps(_mm512_or_si512(magnitude, sign));
    clipped->Add(clip);
    return _mm512_or_si512(code, _mm512_srli_epi32(sign, sign_shift));
  }
};

// The FP8 formats round in float arithmetic instead, in fewer steps: adding
// M = 2^(e + 23 - kMantissa), e the exponent of |v| (at least the format's
// smallest normal one), leaves |v| rounded to nearest even at the format's
// spacing there, normal or subnormal, and subtracting M again is exact.
// The code is then read off the level scaled by 2^(kBias - 127): a float32
// whose exponent field is the format's and whose mantissa starts with the
// format's, subnormal levels landing on float32 denormals that hold their
// code in the same bits (so this needs denormals kept: the default
// floating-point environment, which quantd never changes). BFLOAT16 keeps BitCast: its range is float32's, where
// M would overflow.
template <int kMantissa, int kBias, uint32_t kMaxBits>
struct FloatRound {
  static constexpr int kDropped = 23 - kMantissa;
  // M of the smallest normal binade, used below it too.
  static constexpr uint32_t kMinMagic = static_cast<uint32_t>(127 + 1 - kBias + kDropped) << 23;
  // |v| is first clamped to a power of two beyond the format's range that
  // still rounds beyond it (clipped), keeping M finite.
  static constexpr uint32_t kClampBits = (kMaxBits & 0x7f800000u) + (2u << 23);
  static constexpr uint32_t kRescale = static_cast<uint32_t>(kBias) << 23;  // 2^(kBias - 127).

  static __m512i Encode(__m512 v, int sign_shift, __m512* level, ClipCounter* clipped) {
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(v), Bits(kSignBit));
    const __m512 a = _mm512_min_ps(_mm512_abs_ps(v), _mm512_castsi512_ps(Bits(kClampBits)));
    const __m512i exponent = _mm512_and_si512(_mm512_castps_si512(a), Bits(0x7f800000u));
    const __m512 m = _mm512_castsi512_ps(
        _mm512_max_epi32(_mm512_add_epi32(exponent, Bits(kDropped << 23)), Bits(kMinMagic)));
    const __m512 r = _mm512_sub_ps(_mm512_add_ps(a, m), m);
    const __m512 max = _mm512_castsi512_ps(Bits(kMaxBits));
    clipped->Add(_mm512_cmp_ps_mask(r, max, _CMP_GT_OQ));
    const __m512 magnitude = _mm512_min_ps(r, max);
    *level = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(magnitude), sign));
    const __m512 scaled = _mm512_mul_ps(magnitude, _mm512_castsi512_ps(Bits(kRescale)));
    return _mm512_or_si512(_mm512_srli_epi32(_mm512_castps_si512(scaled), kDropped),
                           _mm512_srli_epi32(sign, sign_shift));
  }
};

using E4M3 = FloatRound<3, 7, 0x43e00000u>;     // 448.
using E5M2 = FloatRound<2, 15, 0x47600000u>;    // 57344.
using BFloat16 = BitCast<7, 127, 0x7f7f0000u>;  // 0x1.fep127.

// Quiet NaN (with the code's sign) in the lanes of `nan`, infinity in those
// of `inf`.
__m512 Specials(__m512 f, __m512i sign, __mmask16 nan, __mmask16 inf) {
  __m512i bits = _mm512_castps_si512(f);
  bits = _mm512_mask_mov_epi32(bits, nan, _mm512_or_si512(Bits(kQuietNaN), sign));
  bits = _mm512_mask_mov_epi32(bits, inf, _mm512_or_si512(Bits(kInfinity), sign));
  return _mm512_castsi512_ps(bits);
}

// 16 FP8 codes to floats: the magnitude bits moved to float32's mantissa
// position make a float 2^(127 - bias) too small, subnormals included (as
// float32 denormals), and the product rescales it exactly.
template <int kMantissa, int kBias>
__m512 DecodeFp8(const std::byte* p, __m512i* sign) {
  const __m512i c = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  *sign = _mm512_slli_epi32(_mm512_and_si512(c, Bits(0x80)), 24);
  const __m512i magnitude = _mm512_and_si512(c, Bits(0x7f));
  const __m512 rescale = _mm512_castsi512_ps(Bits(static_cast<uint32_t>(254 - kBias) << 23));
  const __m512 f = _mm512_mul_ps(
      _mm512_castsi512_ps(_mm512_slli_epi32(magnitude, 23 - kMantissa)), rescale);
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(f), *sign));
}

int64_t QuantizeFloat16(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  std::byte* const dst = args.dst;
  return QuantizeSpan(args, span, sums, [=](__m512 v, __m512, int64_t i, ClipCounter* clipped) {
    // From 65520 on, the tie between 65504 and 65536, round to nearest even
    // goes beyond max_finite: those lanes saturate to 65504, with v's sign.
    const __mmask16 clip =
        _mm512_cmp_ps_mask(_mm512_abs_ps(v), _mm512_set1_ps(65520.0f), _CMP_GE_OQ);
    const __m512 max = _mm512_or_ps(_mm512_set1_ps(65504.0f), _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
    const __m256i h = _mm512_cvtps_ph(_mm512_mask_mov_ps(v, clip, max),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 2 * i), h);
    clipped->Add(clip);
    return _mm512_cvtph_ps(h);
  });
}

template <typename Cast>
int64_t QuantizeFp8(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  std::byte* const dst = args.dst;
  return QuantizeSpan(args, span, sums, [=](__m512 v, __m512, int64_t i, ClipCounter* clipped) {
    __m512 level;
    const __m512i code = Cast::Encode(v, 24, &level, clipped);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm512_cvtepi32_epi8(code));
    return level;
  });
}

int64_t QuantizeBFloat16(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  std::byte* const dst = args.dst;
  return QuantizeSpan(args, span, sums, [=](__m512 v, __m512, int64_t i, ClipCounter* clipped) {
    __m512 level;
    const __m512i code = BFloat16::Encode(v, 16, &level, clipped);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 2 * i), _mm512_cvtepi32_epi16(code));
    return level;
  });
}

}  // namespace

int64_t QuantizeMiniFloatAvx512(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  switch (args.format->dtype) {
    case DType::kFloat8E4M3FN: return QuantizeFp8<E4M3>(args, span, sums);
    case DType::kFloat8E5M2: return QuantizeFp8<E5M2>(args, span, sums);
    case DType::kFloat16: return QuantizeFloat16(args, span, sums);
    default: return QuantizeBFloat16(args, span, sums);
  }
}

void DequantizeMiniFloatAvx512(const DequantizeArgs& args, SlotSpan span) {
  const std::byte* const src = args.src;
  switch (args.format->dtype) {
    case DType::kFloat8E4M3FN:
      // No infinities; S.1111.111 is NaN.
      return DequantizeSpan(args, span, [=](int64_t i, __m512) {
        __m512i sign;
        const __m512 f = DecodeFp8<3, 7>(src + i, &sign);
        const __m512i magnitude = _mm512_andnot_si512(sign, _mm512_castps_si512(f));
        const __mmask16 nan = _mm512_cmpeq_epi32_mask(magnitude, Bits(0x43f00000u));  // 480.
        return Specials(f, sign, nan, 0);
      });
    case DType::kFloat8E5M2:
      // The top exponent is infinity (mantissa 0) or NaN, as in IEEE.
      return DequantizeSpan(args, span, [=](int64_t i, __m512) {
        __m512i sign;
        const __m512 f = DecodeFp8<2, 15>(src + i, &sign);
        const __m512i magnitude = _mm512_andnot_si512(sign, _mm512_castps_si512(f));
        const __m512i top = Bits(0x47800000u);  // 2^16, the top exponent read as a number.
        return Specials(f, sign, _mm512_cmpgt_epu32_mask(magnitude, top),
                        _mm512_cmpeq_epi32_mask(magnitude, top));
      });
    case DType::kFloat16:
      // F16C keeps a NaN's payload; the reference decodes every NaN code to
      // the quiet NaN.
      return DequantizeSpan(args, span, [=](int64_t i, __m512) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i));
        const __m512i h = _mm512_cvtepu16_epi32(raw);
        const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(h, Bits(0x8000)), 16);
        const __mmask16 nan =
            _mm512_cmpgt_epu32_mask(_mm512_and_si512(h, Bits(0x7fff)), Bits(0x7c00));
        return Specials(_mm512_cvtph_ps(raw), sign, nan, 0);
      });
    default:
      return DequantizeSpan(args, span, [=](int64_t i, __m512) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i));
        const __m512i b = _mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16);
        const __m512i sign = _mm512_and_si512(b, Bits(kSignBit));
        const __mmask16 nan =
            _mm512_cmpgt_epu32_mask(_mm512_andnot_si512(Bits(kSignBit), b), Bits(kInfinity));
        return Specials(_mm512_castsi512_ps(b), sign, nan, 0);
      });
  }
}

}  // namespace quantd
