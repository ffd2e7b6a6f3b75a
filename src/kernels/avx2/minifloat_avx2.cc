// AVX2 casts to and from the small floats: FLOAT8_E4M3FN and FLOAT8_E5M2
// rounded in float arithmetic, BFLOAT16 from float32 bits, FLOAT16 with
// F16C. Quantizing rounds to nearest even and saturates to the largest
// finite value, counting it as clipped, as the reference's
// EncodeMiniFloat; decoding gives the reference's DecodeMiniFloat values,
// its quiet NaN included.
#include "kernels/avx2/formats_avx2.h"
#include "kernels/avx2/simd_avx2.h"

namespace quantd {
namespace {

// The float32 bit patterns these casts work with.
constexpr uint32_t kSignBit = 0x80000000u;
constexpr uint32_t kQuietNaN = 0x7fc00000u;  // std::numeric_limits<float>::quiet_NaN().
constexpr uint32_t kInfinity = 0x7f800000u;

__m256i Bits(uint32_t b) { return _mm256_set1_epi32(static_cast<int>(b)); }

// `a` where `mask` (all ones or zero per lane) is clear, `b` where it is set.
__m256i Select(__m256i mask, __m256i a, __m256i b) { return _mm256_blendv_epi8(a, b, mask); }

// A float format with kMantissa mantissa bits, exponent bias kBias and
// largest finite value kMaxBits (as float32 bits), from float32 bits. Every
// magnitude here is below 2^31, so signed comparisons order them.
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

  // The codes of v's 8 lanes, the sign moved down by sign_shift from
  // float32's bit 31, and their values in *level.
  static __m256i Encode(__m256 v, int sign_shift, __m256* level, ClipCounter* clipped) {
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i sign = _mm256_and_si256(bits, Bits(kSignBit));
    const __m256i u = _mm256_andnot_si256(Bits(kSignBit), bits);
    // Normal binades: round the dropped bits to nearest even; a carry moves
    // into the exponent, past max_finite into the clipped range (or to the
    // infinity bits, which compare above it too).
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, kDropped), Bits(1));
    const __m256i half = Bits((1u << (kDropped - 1)) - 1);
    const __m256i r = _mm256_and_si256(_mm256_add_epi32(_mm256_add_epi32(u, half), lsb),
                                       Bits(~((1u << kDropped) - 1)));
    const __m256i clip = _mm256_cmpgt_epi32(r, Bits(kMaxBits));
    // Below the smallest normal: adding kMagic rounds |v| to the subnormal
    // spacing, to nearest even, in the float addition; the code is the
    // number of spacings, and 2^kMantissa of them is the smallest normal.
    const __m256i subnormal = _mm256_cmpgt_epi32(Bits(kMinNormal), u);
    const __m256 magic = _mm256_castsi256_ps(Bits(kMagic));
    const __m256 s = _mm256_add_ps(_mm256_castsi256_ps(u), magic);
    __m256i code = _mm256_sub_epi32(_mm256_srli_epi32(r, kDropped), Bits(kRebias));
    code = Select(clip, code, Bits(kMaxCode));
    code = Select(subnormal, code, _mm256_sub_epi32(_mm256_castps_si256(s), Bits(kMagic)));
    __m256i magnitude = Select(clip, r, Bits(kMaxBits));
    magnitude = Select(subnormal, magnitude, _mm256_castps_si256(_mm256_sub_ps(s, magic)));
    *level = _mm256_castsi256_ps(_mm256_or_si256(magnitude, sign));
    clipped->Add(clip);
    return _mm256_or_si256(code, _mm256_srli_epi32(sign, sign_shift));
  }
};

// The FP8 formats round in float arithmetic, as the AVX-512 kernels do (see
// FloatRound there): |v| + M - M with M = 2^(e + 23 - kMantissa), the code
// read off the level scaled by 2^(kBias - 127).
template <int kMantissa, int kBias, uint32_t kMaxBits>
struct FloatRound {
  static constexpr int kDropped = 23 - kMantissa;
  static constexpr uint32_t kMinMagic = static_cast<uint32_t>(127 + 1 - kBias + kDropped) << 23;
  static constexpr uint32_t kClampBits = (kMaxBits & 0x7f800000u) + (2u << 23);
  static constexpr uint32_t kRescale = static_cast<uint32_t>(kBias) << 23;  // 2^(kBias - 127).

  static __m256i Encode(__m256 v, int sign_shift, __m256* level, ClipCounter* clipped) {
    const __m256i sign = _mm256_and_si256(_mm256_castps_si256(v), Bits(kSignBit));
    const __m256 a = _mm256_min_ps(_mm256_andnot_ps(_mm256_castsi256_ps(Bits(kSignBit)), v),
                                   _mm256_castsi256_ps(Bits(kClampBits)));
    const __m256i exponent = _mm256_and_si256(_mm256_castps_si256(a), Bits(0x7f800000u));
    const __m256 m = _mm256_castsi256_ps(
        _mm256_max_epi32(_mm256_add_epi32(exponent, Bits(kDropped << 23)), Bits(kMinMagic)));
    const __m256 r = _mm256_sub_ps(_mm256_add_ps(a, m), m);
    const __m256 max = _mm256_castsi256_ps(Bits(kMaxBits));
    clipped->Add(_mm256_cmp_ps(r, max, _CMP_GT_OQ));
    const __m256 magnitude = _mm256_min_ps(r, max);
    *level = _mm256_castsi256_ps(_mm256_or_si256(_mm256_castps_si256(magnitude), sign));
    const __m256 scaled = _mm256_mul_ps(magnitude, _mm256_castsi256_ps(Bits(kRescale)));
    return _mm256_or_si256(_mm256_srli_epi32(_mm256_castps_si256(scaled), kDropped),
                           _mm256_srli_epi32(sign, sign_shift));
  }
};

using E4M3 = FloatRound<3, 7, 0x43e00000u>;     // 448.
using E5M2 = FloatRound<2, 15, 0x47600000u>;    // 57344.
using BFloat16 = BitCast<7, 127, 0x7f7f0000u>;  // 0x1.fep127.

// Quiet NaN (with the code's sign) in the lanes of `nan`, infinity in those
// of `inf` (masks all ones or zero per lane).
__m256 Specials(__m256 f, __m256i sign, __m256i nan, __m256i inf) {
  __m256i bits = _mm256_castps_si256(f);
  bits = Select(nan, bits, _mm256_or_si256(Bits(kQuietNaN), sign));
  bits = Select(inf, bits, _mm256_or_si256(Bits(kInfinity), sign));
  return _mm256_castsi256_ps(bits);
}

// 8 FP8 codes to floats: the magnitude bits moved to float32's mantissa
// position make a float 2^(127 - bias) too small, subnormals included (as
// float32 denormals), and the product rescales it exactly.
template <int kMantissa, int kBias>
__m256 DecodeFp8(const std::byte* p, __m256i* sign, __m256i* magnitude_bits) {
  const __m256i c = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  *sign = _mm256_slli_epi32(_mm256_and_si256(c, Bits(0x80)), 24);
  const __m256i magnitude = _mm256_and_si256(c, Bits(0x7f));
  const __m256 rescale = _mm256_castsi256_ps(Bits(static_cast<uint32_t>(254 - kBias) << 23));
  const __m256 f = _mm256_mul_ps(
      _mm256_castsi256_ps(_mm256_slli_epi32(magnitude, 23 - kMantissa)), rescale);
  *magnitude_bits = _mm256_castps_si256(f);
  return _mm256_castsi256_ps(_mm256_or_si256(*magnitude_bits, *sign));
}

int64_t QuantizeFloat16(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  std::byte* const dst = args.dst;
  return QuantizeSpan(args, span, sums, [=](__m256 v, __m256, int64_t i, ClipCounter* clipped) {
    // From 65520 on, the tie between 65504 and 65536, round to nearest even
    // goes beyond max_finite: those lanes saturate to 65504, with v's sign.
    const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    const __m256 clip = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), v),
                                      _mm256_set1_ps(65520.0f), _CMP_GE_OQ);
    const __m256 max = _mm256_or_ps(_mm256_set1_ps(65504.0f), sign);
    const __m128i h = _mm256_cvtps_ph(_mm256_blendv_ps(v, max, clip),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * i), h);
    clipped->Add(clip);
    return _mm256_cvtph_ps(h);
  });
}

template <typename Cast>
int64_t QuantizeFp8(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  std::byte* const dst = args.dst;
  return QuantizeSpan(args, span, sums, [=](__m256 v, __m256, int64_t i, ClipCounter* clipped) {
    __m256 level;
    const __m256i code = Cast::Encode(v, 24, &level, clipped);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + i), Narrow32To8(code));
    return level;
  });
}

int64_t QuantizeBFloat16(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  std::byte* const dst = args.dst;
  return QuantizeSpan(args, span, sums, [=](__m256 v, __m256, int64_t i, ClipCounter* clipped) {
    __m256 level;
    const __m256i code = BFloat16::Encode(v, 16, &level, clipped);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * i), Narrow32To16(code, true));
    return level;
  });
}

}  // namespace

int64_t QuantizeMiniFloatAvx2(const QuantizeArgs& args, SlotSpan span, ErrorSums* sums) {
  switch (args.format->dtype) {
    case DType::kFloat8E4M3FN: return QuantizeFp8<E4M3>(args, span, sums);
    case DType::kFloat8E5M2: return QuantizeFp8<E5M2>(args, span, sums);
    case DType::kFloat16: return QuantizeFloat16(args, span, sums);
    default: return QuantizeBFloat16(args, span, sums);
  }
}

void DequantizeMiniFloatAvx2(const DequantizeArgs& args, SlotSpan span) {
  const std::byte* const src = args.src;
  switch (args.format->dtype) {
    case DType::kFloat8E4M3FN:
      // No infinities; S.1111.111 is NaN.
      return DequantizeSpan(args, span, [=](int64_t i, __m256) {
        __m256i sign, magnitude;
        const __m256 f = DecodeFp8<3, 7>(src + i, &sign, &magnitude);
        const __m256i nan = _mm256_cmpeq_epi32(magnitude, Bits(0x43f00000u));  // 480.
        return Specials(f, sign, nan, _mm256_setzero_si256());
      });
    case DType::kFloat8E5M2:
      // The top exponent is infinity (mantissa 0) or NaN, as in IEEE.
      return DequantizeSpan(args, span, [=](int64_t i, __m256) {
        __m256i sign, magnitude;
        const __m256 f = DecodeFp8<2, 15>(src + i, &sign, &magnitude);
        const __m256i top = Bits(0x47800000u);  // 2^16, the top exponent read as a number.
        return Specials(f, sign, _mm256_cmpgt_epi32(magnitude, top),
                        _mm256_cmpeq_epi32(magnitude, top));
      });
    case DType::kFloat16:
      // F16C keeps a NaN's payload; the reference decodes every NaN code to
      // the quiet NaN.
      return DequantizeSpan(args, span, [=](int64_t i, __m256) {
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
        const __m256i h = _mm256_cvtepu16_epi32(raw);
        const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(h, Bits(0x8000)), 16);
        const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(h, Bits(0x7fff)), Bits(0x7c00));
        return Specials(_mm256_cvtph_ps(raw), sign, nan, _mm256_setzero_si256());
      });
    default:
      return DequantizeSpan(args, span, [=](int64_t i, __m256) {
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
        const __m256i b = _mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16);
        const __m256i sign = _mm256_and_si256(b, Bits(kSignBit));
        const __m256i nan =
            _mm256_cmpgt_epi32(_mm256_andnot_si256(Bits(kSignBit), b), Bits(kInfinity));
        return Specials(_mm256_castsi256_ps(b), sign, nan, _mm256_setzero_si256());
      });
  }
}

}  // namespace quantd
