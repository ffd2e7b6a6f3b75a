// The SIMD kernels of FLOAT8_E4M3FN, FLOAT8_E5M2, FLOAT16, BFLOAT16, INT4,
// UINT4 and NF4 against the scalar reference: the return value, every byte
// of the packed output (a span's neighbour nibbles included), x' and the
// clipped count bit for bit, the error sums up to the order of their
// additions. Random data, every tail length 0..70, unaligned buffers,
// stride 0 and 1 spans, 4-bit spans from odd indices, denormals, values on
// rounding ties and on NF4's boundaries, huge and tiny scales, values
// around the saturation limits, every finite FLOAT16 value through FP8,
// every code decoded. Paths the CPU lacks are skipped.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "formats/element_format.h"
#include "formats/element_io.h"
#include "formats/minifloat.h"
#include "formats/scalar_quantizer.h"
#include "kernels/kernels.h"
#include "kernels/simd_coverage.h"
#include "simd_kernel_test_util.h"

namespace quantd {
namespace {

using ::quantd::testing::EncodeFloats;
using ::quantd::testing::ExpectSumsMatch;
using ::quantd::testing::SimdPaths;
using FormatKernelsTest = ::quantd::testing::SimdKernelsTest;

constexpr float kInf = std::numeric_limits<float>::infinity();

// Every length up to 70 (all tails of 16- and 8-lane loops, odd and even),
// and a long one.
std::vector<int64_t> TailLengths() {
  std::vector<int64_t> lengths;
  for (int64_t n = 0; n <= 70; ++n) lengths.push_back(n);
  lengths.push_back(1000);
  return lengths;
}

float Bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// `x` as the nearest value of a FLOAT32, FLOAT16 or BFLOAT16 tensor, kept
// finite (the largest finite value of its sign where it would overflow).
float Representable(float x, DType dtype) {
  std::byte bytes[8];  // Room for any float dtype.
  StoreFloatElement(dtype, bytes, 0, x);
  const float r = static_cast<float>(LoadFloatElement(dtype, bytes, 0));
  if (std::isfinite(r)) return r;
  const float max = dtype == DType::kFloat16    ? 65504.0f
                    : dtype == DType::kBFloat16 ? 0x1.fep127f
                                                : std::numeric_limits<float>::max();
  return std::copysign(max, x);
}

// The first differing byte, named, rather than two dumps.
void ExpectSameBytes(const std::vector<std::byte>& expected, const std::vector<std::byte>& actual,
                     const char* what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  for (size_t b = 0; b < expected.size(); ++b) {
    ASSERT_EQ(static_cast<int>(expected[b]), static_cast<int>(actual[b]))
        << what << " byte " << b << " of " << expected.size();
  }
}

std::vector<std::byte> RandomBytes(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::byte> bytes(n);
  for (auto& b : bytes) b = static_cast<std::byte>(byte(rng));
  return bytes;
}

// NF4's levels and decision boundaries, as quantize.cc builds them.
struct Nf4Tables {
  float boundaries[15];
  Nf4Tables() { CodebookBoundaries(kNF4Levels, 16, boundaries); }
};
const Nf4Tables& Nf4() {
  static const Nf4Tables tables;
  return tables;
}

// One quantize call: x holds the elements at flat indices start.. of the
// span; slot k * stride of the span uses scales[k * stride] (and
// zero_points, when given), or in a run of groups scales[k / group].
struct QuantizeCase {
  DType format = DType::kFloat8E4M3FN;
  DType src_dtype = DType::kFloat32;
  Rounding rounding = Rounding::kHalfToEven;
  std::vector<float> x;
  int64_t start = 0;
  int stride = 0;
  int64_t group = 0;  // > 0: a run of groups (SlotSpan::group), stride 0.
  std::vector<float> scales;
  std::vector<float> zero_points;
  float qmin = 0, qmax = 0;
  bool dequantized = true;
  int offset = 1;  // Bytes of misalignment of the input.
};

// Runs the reference and `simd` on the same inputs and on output buffers
// filled with the same random bytes, and compares everything.
void ExpectQuantizeMatches(const KernelTable& simd, const QuantizeCase& c, std::mt19937& rng) {
  const ElementFormat* format = FindElementFormat(c.format);
  const int64_t n = static_cast<int64_t>(c.x.size());
  const int64_t total = c.start + n;
  std::vector<float> all(c.start, 0.0f);
  all.insert(all.end(), c.x.begin(), c.x.end());
  const std::vector<std::byte> src = EncodeFloats(all, c.src_dtype, c.offset);
  std::vector<float> inv(c.scales.size());
  for (size_t s = 0; s < inv.size(); ++s) inv[s] = 1.0f / c.scales[s];

  QuantizeArgs args;
  args.src = {c.src_dtype, src.data() + c.offset};
  args.format = format;
  args.deq_dtype = c.src_dtype;
  args.params.scales = c.scales.data();
  args.params.inv_scales = inv.data();
  args.params.zero_points = c.zero_points.empty() ? nullptr : c.zero_points.data();
  if (c.format == DType::kNF4) {
    args.params.levels = kNF4Levels;
    args.params.boundaries = Nf4().boundaries;
  }
  args.qmin = c.qmin;
  args.qmax = c.qmax;
  args.rounding = c.rounding;
  const SlotSpan span{c.start, n, 0, c.stride, c.group};

  const std::vector<std::byte> codes = RandomBytes(rng, (total * format->bits + 7) / 8 + 2);
  const std::vector<std::byte> deq = RandomBytes(rng, total * DTypeBits(c.src_dtype) / 8 + 2);
  std::vector<std::byte> codes_ref = codes, codes_simd = codes, deq_ref = deq, deq_simd = deq;
  ErrorSums sums_ref, sums_simd;
  args.dst = codes_ref.data() + 1;
  args.deq = c.dequantized ? deq_ref.data() + 1 : nullptr;
  const int64_t bad_ref = KernelsReference().quantize(args, span, &sums_ref);
  args.dst = codes_simd.data() + 1;
  args.deq = c.dequantized ? deq_simd.data() + 1 : nullptr;
  const int64_t bad_simd = simd.quantize(args, span, &sums_simd);

  ASSERT_EQ(bad_ref, bad_simd);
  if (bad_ref >= 0) return;  // Outputs and sums are then incomplete.
  ExpectSameBytes(codes_ref, codes_simd, "codes");
  ExpectSameBytes(deq_ref, deq_simd, "x'");
  ExpectSumsMatch(sums_ref, sums_simd);
}

// One dequantize call over random or given codes.
struct DequantizeCase {
  DType format = DType::kFloat8E4M3FN;
  DType dst_dtype = DType::kFloat32;
  std::vector<std::byte> codes;  // Packed, flat index 0 on.
  int64_t start = 0;
  int64_t count = 0;
  int stride = 0;
  int64_t group = 0;  // > 0: a run of groups (SlotSpan::group), stride 0.
  std::vector<float> scales;
  std::vector<float> zero_points;
};

void ExpectDequantizeMatches(const KernelTable& simd, const DequantizeCase& c, std::mt19937& rng) {
  const ElementFormat* format = FindElementFormat(c.format);
  const int64_t total = c.start + c.count;
  std::vector<std::byte> codes(1);  // Misaligned by one byte.
  codes.insert(codes.end(), c.codes.begin(), c.codes.end());
  DequantizeArgs args;
  args.format = format;
  args.src = codes.data() + 1;
  args.dst_dtype = c.dst_dtype;
  args.params.scales = c.scales.data();
  args.params.zero_points = c.zero_points.empty() ? nullptr : c.zero_points.data();
  if (c.format == DType::kNF4) args.params.levels = kNF4Levels;
  const std::vector<std::byte> out = RandomBytes(rng, total * DTypeBits(c.dst_dtype) / 8 + 3);
  std::vector<std::byte> out_ref = out, out_simd = out;
  const SlotSpan span{c.start, c.count, 0, c.stride, c.group};
  args.dst = out_ref.data() + 1;
  KernelsReference().dequantize(args, span);
  args.dst = out_simd.data() + 1;
  simd.dequantize(args, span);
  ExpectSameBytes(out_ref, out_simd, "x'");
}

// Scales that are powers of two keep v = x / scale exact, so values placed
// on ties reach the kernels as ties; the others stress the product.
const std::vector<float>& SlotScales() {
  static const std::vector<float> scales{1.0f,  0.25f, 0x1p20f, 0x1p-20f,
                                         3e-38f, 0.037f, 1e30f,  7.25f};
  return scales;
}

// Per-slot scales for a span of n elements: one (stride 0) or n.
std::vector<float> ScalesFor(int64_t n, int stride, int pick) {
  const std::vector<float>& list = SlotScales();
  std::vector<float> scales(stride ? std::max<int64_t>(n, 1) : 1);
  for (size_t s = 0; s < scales.size(); ++s) scales[s] = list[(pick + s) % list.size()];
  return scales;
}

// --- Small floats -----------------------------------------------------------

const DType kMiniFloats[] = {DType::kFloat8E4M3FN, DType::kFloat8E5M2, DType::kFloat16,
                             DType::kBFloat16};
const DType kFloatInputs[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16};

float Decode(const ElementFormat& f, uint32_t code) {
  return DecodeMiniFloat(f.minifloat, f.bits, code);
}

uint32_t MaxMagnitudeCode(const ElementFormat& f) {
  return MiniFloatMagnitudeCode(f.minifloat, f.minifloat.max_finite);
}

enum MiniFloatKind { kNormal, kTies, kSubnormal, kSaturation, kRandomBits, kSpecial, kKinds };

// A value v = x / scale of `kind` for the float format f.
float MiniFloatValue(std::mt19937& rng, const ElementFormat& f, int kind) {
  const MiniFloatLayout& layout = f.minifloat;
  const float max = layout.max_finite;
  const float min_normal = std::ldexp(1.0f, MiniFloatMinExponent(layout));
  const float quantum = std::ldexp(min_normal, -layout.mantissa_bits);  // Subnormal spacing.
  const float sign = rng() % 2 ? -1.0f : 1.0f;
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  switch (kind) {
    case kNormal:
      return std::normal_distribution<float>(0.0f, std::min(max / 4, 1e6f))(rng);
    case kTies: {
      // Halfway between two neighbouring codes, subnormals included.
      const uint32_t code = std::uniform_int_distribution<uint32_t>(0, MaxMagnitudeCode(f) - 1)(rng);
      const double mid = (static_cast<double>(Decode(f, code)) + Decode(f, code + 1)) / 2;
      return sign * static_cast<float>(mid);
    }
    case kSubnormal:
      switch (rng() % 3) {
        case 0: return sign * unit(rng) * 2 * min_normal;
        case 1: {  // Halfway between two subnormals.
          const int k = std::uniform_int_distribution<int>(0, 1 << layout.mantissa_bits)(rng);
          return sign * (static_cast<float>(k) + 0.5f) * quantum;
        }
        default: return sign * Bits(static_cast<uint32_t>(rng()) & 0x007fffffu);  // Float32 denormal.
      }
    case kSaturation: {
      const float ulp = max - Decode(f, MaxMagnitudeCode(f) - 1);
      const float tie = max + ulp / 2;  // Rounds to max (even) in every format here.
      const float around[] = {max, std::nextafter(max, kInf), std::nextafter(max, 0.0f), tie,
                              std::nextafter(tie, kInf), std::nextafter(tie, 0.0f), max + ulp,
                              2 * max, 0x1.fffffep127f};
      if (rng() % 2) return sign * around[rng() % std::size(around)];
      return sign * max * (0.9f + 0.2f * unit(rng));
    }
    case kRandomBits: {
      float v;
      do {
        v = Bits(static_cast<uint32_t>(rng()));
      } while (!std::isfinite(v));
      return v;
    }
    default: {
      const float special[] = {0.0f, -0.0f, quantum, quantum / 2, 1.5f * quantum, min_normal,
                               std::nextafter(min_normal, 0.0f), Bits(1), Bits(0x007fffffu),
                               std::numeric_limits<float>::min()};
      return sign * special[rng() % std::size(special)];
    }
  }
}

TEST_P(FormatKernelsTest, MiniFloatQuantizeMatchesReference) {
  std::mt19937 rng(11);
  for (DType dtype : kMiniFloats) {
    const ElementFormat& f = *FindElementFormat(dtype);
    for (DType src_dtype : kFloatInputs) {
      for (int kind = 0; kind < kKinds; ++kind) {
        for (int64_t n : TailLengths()) {
          for (int stride : {0, 1}) {
            QuantizeCase c;
            c.format = dtype;
            c.src_dtype = src_dtype;
            c.stride = stride;
            c.offset = static_cast<int>(n % 4);
            c.dequantized = n % 5 != 0;
            c.scales = ScalesFor(n, stride, static_cast<int>(n));
            for (int64_t k = 0; k < n; ++k) {
              const float v = MiniFloatValue(rng, f, kind);
              c.x.push_back(Representable(v * c.scales[k * stride], src_dtype));
            }
            SCOPED_TRACE(::testing::Message() << DTypeName(src_dtype) << "->" << DTypeName(dtype)
                                              << " kind " << kind << " n " << n << " stride " << stride);
            ExpectQuantizeMatches(simd(), c, rng);
          }
        }
      }
    }
  }
}

// Every finite FLOAT16 value through FP8, as FLOAT16 and as FLOAT32 input,
// at scales that move FP16's range over FP8's: below, onto and beyond it
// (ties of FP8 at every exponent, its subnormals, saturation).
TEST_P(FormatKernelsTest, EveryFiniteHalfThroughFp8MatchesReference) {
  std::mt19937 rng(12);
  std::vector<float> halves;
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    if ((h & 0x7c00u) == 0x7c00u) continue;  // Infinities and NaN.
    std::byte b[2];
    std::memcpy(b, &h, 2);
    halves.push_back(static_cast<float>(LoadFloatElement(DType::kFloat16, b, 0)));
  }
  for (DType dtype : {DType::kFloat8E4M3FN, DType::kFloat8E5M2}) {
    for (DType src_dtype : {DType::kFloat16, DType::kFloat32}) {
      for (float scale : {1.0f, 0x1p-8f, 0x1p8f, 0x1p-14f, 3.0f}) {
        QuantizeCase c;
        c.format = dtype;
        c.src_dtype = src_dtype;
        c.x = halves;
        c.scales = {scale};
        SCOPED_TRACE(::testing::Message() << DTypeName(src_dtype) << "->" << DTypeName(dtype)
                                          << " scale " << scale);
        ExpectQuantizeMatches(simd(), c, rng);
      }
    }
  }
}

// FLOAT16 and BFLOAT16 targets over every float32 exponent and mantissa
// head, with the low bits around both formats' rounding ties.
TEST_P(FormatKernelsTest, SampledFloatsThroughFloat16AndBFloat16MatchReference) {
  std::mt19937 rng(13);
  std::vector<float> x;
  for (uint32_t high = 0; high < 0x10000u; ++high) {
    for (uint32_t low : {0x0000u, 0x0fffu, 0x1000u, 0x1001u, 0x2000u, 0x3000u, 0x7fffu, 0x8000u,
                         0x8001u, 0xffffu}) {
      const float v = Bits((high << 16) | low);
      if (std::isfinite(v)) x.push_back(v);
    }
  }
  for (DType dtype : {DType::kFloat16, DType::kBFloat16}) {
    for (float scale : {1.0f, 0x1p-16f}) {
      QuantizeCase c;
      c.format = dtype;
      c.x = x;
      c.scales = {scale};
      SCOPED_TRACE(::testing::Message() << DTypeName(dtype) << " scale " << scale);
      ExpectQuantizeMatches(simd(), c, rng);
    }
  }
}

// x / scale beyond float32 (a tiny scale): every lane saturates and clips.
TEST_P(FormatKernelsTest, InfiniteQuotientSaturates) {
  std::mt19937 rng(14);
  for (DType dtype : kMiniFloats) {
    const ElementFormat& f = *FindElementFormat(dtype);
    QuantizeCase c;
    c.format = dtype;
    for (int k = 0; k < 40; ++k) c.x.push_back(k % 2 ? -1e30f : 1e30f);
    c.scales = {1e-30f};
    ExpectQuantizeMatches(simd(), c, rng);
    // The reference itself: the largest finite code of each sign.
    std::vector<std::byte> codes(40 * f.bits / 8);
    std::vector<float> inv{1e30f};
    QuantizeArgs args;
    args.src = {DType::kFloat32, reinterpret_cast<const std::byte*>(c.x.data())};
    args.format = &f;
    args.dst = codes.data();
    args.params.scales = c.scales.data();
    args.params.inv_scales = inv.data();
    ErrorSums sums;
    ASSERT_EQ(KernelsReference().quantize(args, {0, 40, 0, 0}, &sums), -1);
    EXPECT_EQ(sums.clipped, 40) << DTypeName(dtype);
    const uint32_t max_code = MaxMagnitudeCode(f);
    const uint32_t sign = 1u << (f.bits - 1);
    for (int k = 0; k < 2; ++k) {
      uint32_t code = 0;
      std::memcpy(&code, codes.data() + k * f.bits / 8, f.bits / 8);
      EXPECT_EQ(code, k % 2 ? (max_code | sign) : max_code) << DTypeName(dtype);
    }
  }
}

TEST_P(FormatKernelsTest, MiniFloatDequantizeMatchesReference) {
  std::mt19937 rng(15);
  for (DType dtype : kMiniFloats) {
    const int bytes_per_code = FindElementFormat(dtype)->bits / 8;
    for (DType dst_dtype : kFloatInputs) {
      for (int64_t n = 0; n <= 70; ++n) {
        for (int stride : {0, 1}) {
          DequantizeCase c;
          c.format = dtype;
          c.dst_dtype = dst_dtype;
          c.start = n % 3;
          c.count = n;
          c.stride = stride;
          c.codes = RandomBytes(rng, (c.start + n) * bytes_per_code);
          c.scales = ScalesFor(n, stride, static_cast<int>(n));
          SCOPED_TRACE(::testing::Message() << DTypeName(dtype) << "->" << DTypeName(dst_dtype)
                                            << " n " << n << " stride " << stride);
          ExpectDequantizeMatches(simd(), c, rng);
        }
      }
      // Every code, NaN and infinity codes included, at scales that keep,
      // overflow and underflow x'.
      const uint32_t codes = 1u << (8 * bytes_per_code);
      for (float scale : {1.0f, 1e30f, 3e-38f, 0.037f}) {
        DequantizeCase c;
        c.format = dtype;
        c.dst_dtype = dst_dtype;
        c.count = codes;
        c.scales = {scale};
        c.codes.resize(codes * bytes_per_code);
        for (uint32_t code = 0; code < codes; ++code) {
          std::memcpy(c.codes.data() + code * bytes_per_code, &code, bytes_per_code);
        }
        SCOPED_TRACE(::testing::Message() << "every " << DTypeName(dtype) << " code to "
                                          << DTypeName(dst_dtype) << " scale " << scale);
        ExpectDequantizeMatches(simd(), c, rng);
      }
    }
  }
}

// --- INT4 and UINT4 ---------------------------------------------------------

struct Int4Target {
  DType dtype;
  float qmin, qmax;
  bool zero_points;
};

const Int4Target kInt4Targets[] = {
    {DType::kInt4, -7, 7, false},   // Symmetric, restricted.
    {DType::kInt4, -8, 7, false},   // Symmetric, full range.
    {DType::kInt4, -8, 7, true},    // Zero points shift the range.
    {DType::kUInt4, 0, 15, true},   // Asymmetric.
};

float IntegerValue(std::mt19937& rng, int kind) {
  switch (kind) {
    case 0: return std::normal_distribution<float>(0.0f, 4.0f)(rng);
    case 1: return static_cast<float>(std::uniform_int_distribution<int>(-40, 40)(rng)) * 0.5f;  // Ties.
    case 2: return std::normal_distribution<float>(0.0f, 1.0f)(rng) * 1e-39f;  // Denormals.
    default: return std::normal_distribution<float>(0.0f, 1.0f)(rng) * 1e30f;  // Clipped.
  }
}

TEST_P(FormatKernelsTest, Int4QuantizeMatchesReference) {
  std::mt19937 rng(21);
  for (const Int4Target& target : kInt4Targets) {
    for (Rounding rounding : {Rounding::kHalfToEven, Rounding::kHalfAwayFromZero, Rounding::kFloor}) {
      for (int kind = 0; kind < 4; ++kind) {
        for (int64_t n : TailLengths()) {
          for (int64_t start = 0; start < 4; ++start) {
            for (int stride : {0, 1}) {
              QuantizeCase c;
              c.format = target.dtype;
              c.rounding = rounding;
              c.start = start;
              c.stride = stride;
              c.offset = static_cast<int>((n + start) % 4);
              c.dequantized = (n + start) % 3 != 0;
              c.qmin = target.qmin;
              c.qmax = target.qmax;
              // Ties need v = x exactly: scale 1 for them.
              c.scales = kind == 1 ? std::vector<float>(stride ? std::max<int64_t>(n, 1) : 1, 1.0f)
                                   : ScalesFor(n, stride, static_cast<int>(n + start));
              if (target.zero_points) {
                for (size_t s = 0; s < c.scales.size(); ++s) {
                  c.zero_points.push_back(target.qmin + static_cast<float>((s * 7 + n) % 16));
                }
              }
              for (int64_t k = 0; k < n; ++k) c.x.push_back(IntegerValue(rng, kind));
              SCOPED_TRACE(::testing::Message()
                           << DTypeName(target.dtype) << " [" << target.qmin << ", " << target.qmax
                           << "] rounding " << RoundingName(rounding) << " kind " << kind << " n " << n
                           << " start " << start << " stride " << stride);
              ExpectQuantizeMatches(simd(), c, rng);
            }
          }
        }
      }
    }
  }
}

TEST_P(FormatKernelsTest, Int4DequantizeMatchesReference) {
  std::mt19937 rng(22);
  for (DType dtype : {DType::kInt4, DType::kUInt4}) {
    for (DType dst_dtype : kFloatInputs) {
      for (int64_t n = 0; n <= 70; ++n) {
        for (int64_t start = 0; start < 4; ++start) {
          for (int stride : {0, 1}) {
            DequantizeCase c;
            c.format = dtype;
            c.dst_dtype = dst_dtype;
            c.start = start;
            c.count = n;
            c.stride = stride;
            c.codes = RandomBytes(rng, (start + n + 1) / 2);
            c.scales = ScalesFor(n, stride, static_cast<int>(n + start));
            if (n % 2) {
              for (size_t s = 0; s < c.scales.size(); ++s) {
                c.zero_points.push_back(static_cast<float>(s % 16) - (dtype == DType::kInt4 ? 8 : 0));
              }
            }
            SCOPED_TRACE(::testing::Message() << DTypeName(dtype) << "->" << DTypeName(dst_dtype)
                                              << " n " << n << " start " << start << " stride " << stride);
            ExpectDequantizeMatches(simd(), c, rng);
          }
        }
      }
    }
  }
}

// --- NF4 --------------------------------------------------------------------

// A value v of `kind` for NF4: anywhere in and beyond [-1, 1], exactly on a
// decision boundary or a float away from one, on a level, on the clipping
// edges or a float away, or signed zero.
float Nf4Value(std::mt19937& rng, int kind) {
  const float* b = Nf4().boundaries;
  const float low_edge = kNF4Levels[0] - (b[0] - kNF4Levels[0]);
  const float high_edge = kNF4Levels[15] + (kNF4Levels[15] - b[14]);
  switch (kind) {
    case 0: return std::uniform_real_distribution<float>(-1.3f, 1.3f)(rng);
    case 1: {
      const float on = b[rng() % 15];
      const int step = static_cast<int>(rng() % 3);  // On it, a float below, a float above.
      return step == 0 ? on : std::nextafter(on, step == 1 ? -kInf : kInf);
    }
    case 2: return kNF4Levels[rng() % 16];
    case 3: {
      const float edge = rng() % 2 ? low_edge : high_edge;
      const int step = static_cast<int>(rng() % 3);
      return step == 0 ? edge : std::nextafter(edge, step == 1 ? -kInf : kInf);
    }
    default: return rng() % 2 ? -0.0f : 0.0f;
  }
}

TEST_P(FormatKernelsTest, Nf4QuantizeMatchesReference) {
  std::mt19937 rng(31);
  for (DType src_dtype : kFloatInputs) {
    for (int kind = 0; kind < 5; ++kind) {
      for (int64_t n : TailLengths()) {
        for (int64_t start = 0; start < 4; ++start) {
          for (int stride : {0, 1}) {
            QuantizeCase c;
            c.format = DType::kNF4;
            c.src_dtype = src_dtype;
            c.start = start;
            c.stride = stride;
            c.offset = static_cast<int>((n + start) % 4);
            c.dequantized = (n + start) % 3 != 0;
            c.scales = ScalesFor(n, stride, static_cast<int>(n + start));
            for (int64_t k = 0; k < n; ++k) {
              c.x.push_back(Representable(Nf4Value(rng, kind) * c.scales[k * stride], src_dtype));
            }
            SCOPED_TRACE(::testing::Message() << DTypeName(src_dtype) << " kind " << kind << " n " << n
                                              << " start " << start << " stride " << stride);
            ExpectQuantizeMatches(simd(), c, rng);
          }
        }
      }
    }
  }
}

// A run of groups (SlotSpan::group) gives the codes, x' and error of its
// groups one by one (the reference quantizes it so): every SIMD format
// family, groups of 16 to 128, scales that change from group to group, a
// group of huge values (squares beyond float32, summed again in double)
// and one of zeros, on both parities of a run's start in the buffer.
TEST_P(FormatKernelsTest, RunsOfGroupsMatchTheGroupsOneByOne) {
  std::mt19937 rng(33);
  struct Target {
    DType dtype;
    float qmin, qmax;
    bool zero_points;
  };
  const Target targets[] = {{DType::kInt8, -127, 127, false},  {DType::kUInt8, 0, 255, true},
                            {DType::kInt4, -8, 7, true},       {DType::kUInt4, 0, 15, true},
                            {DType::kNF4, 0, 15, false},       {DType::kFloat8E4M3FN, 0, 0, false},
                            {DType::kFloat8E5M2, 0, 0, false}, {DType::kBFloat16, 0, 0, false}};
  for (const Target& target : targets) {
    for (int64_t group : {16, 48, 128}) {
      for (int64_t groups : {1, 3, 9}) {
        for (int64_t start : {0, 32}) {
          for (Rounding rounding : {Rounding::kHalfToEven, Rounding::kFloor}) {
            if (target.dtype == DType::kNF4 && rounding != Rounding::kHalfToEven) continue;
            QuantizeCase c;
            c.format = target.dtype;
            c.rounding = rounding;
            c.start = start;
            c.group = group;
            c.qmin = target.qmin;
            c.qmax = target.qmax;
            c.offset = static_cast<int>(groups % 4);
            c.dequantized = groups != 3;
            for (int64_t g = 0; g < groups; ++g) {
              const float scale =
                  std::ldexp(1.0f + 0.37f * static_cast<float>(g), static_cast<int>(g % 5) - 2);
              c.scales.push_back(scale);
              if (target.zero_points) c.zero_points.push_back(c.qmin + static_cast<float>(g % 5));
              for (int64_t k = 0; k < group; ++k) {
                const float x = std::normal_distribution<float>(0.0f, 6.0f)(rng) * scale;
                c.x.push_back(g == 4 ? x * 1e25f : g == 7 ? 0.0f : x);
              }
            }
            SCOPED_TRACE(::testing::Message()
                         << DTypeName(target.dtype) << " group " << group << " groups " << groups
                         << " start " << start << " rounding " << RoundingName(rounding));
            ExpectQuantizeMatches(simd(), c, rng);
          }
        }
      }
    }
  }
}

// The same for dequantize: a run of groups decodes as its groups one by one.
TEST_P(FormatKernelsTest, RunsOfGroupsDequantizeAsTheGroupsOneByOne) {
  std::mt19937 rng(34);
  for (DType dtype : {DType::kInt8, DType::kUInt8, DType::kInt4, DType::kUInt4, DType::kNF4,
                      DType::kFloat8E4M3FN, DType::kFloat8E5M2}) {
    for (DType dst_dtype : kFloatInputs) {
      for (int64_t group : {16, 48, 128}) {
        for (int64_t groups : {1, 5}) {
          for (int64_t start : {0, 32}) {
            DequantizeCase c;
            c.format = dtype;
            c.dst_dtype = dst_dtype;
            c.start = start;
            c.count = group * groups;
            c.group = group;
            c.codes = RandomBytes(rng, (start + c.count) * FindElementFormat(dtype)->bits / 8 + 1);
            for (int64_t g = 0; g < groups; ++g) {
              c.scales.push_back(
                  std::ldexp(1.0f + 0.37f * static_cast<float>(g), static_cast<int>(g) - 2));
              const bool integer = dtype == DType::kInt8 || dtype == DType::kUInt8 ||
                                   dtype == DType::kInt4 || dtype == DType::kUInt4;
              if (integer && groups > 1) {
                c.zero_points.push_back(static_cast<float>(g % 5));
              }
            }
            SCOPED_TRACE(::testing::Message() << DTypeName(dtype) << "->" << DTypeName(dst_dtype)
                                              << " group " << group << " groups " << groups
                                              << " start " << start);
            ExpectDequantizeMatches(simd(), c, rng);
          }
        }
      }
    }
  }
}

TEST_P(FormatKernelsTest, Nf4DequantizeMatchesReference) {
  std::mt19937 rng(32);
  for (DType dst_dtype : kFloatInputs) {
    for (int64_t n = 0; n <= 70; ++n) {
      for (int64_t start = 0; start < 4; ++start) {
        for (int stride : {0, 1}) {
          DequantizeCase c;
          c.format = DType::kNF4;
          c.dst_dtype = dst_dtype;
          c.start = start;
          c.count = n;
          c.stride = stride;
          c.codes = RandomBytes(rng, (start + n + 1) / 2);
          c.scales = ScalesFor(n, stride, static_cast<int>(n + start));
          SCOPED_TRACE(::testing::Message() << DTypeName(dst_dtype) << " n " << n << " start " << start
                                            << " stride " << stride);
          ExpectDequantizeMatches(simd(), c, rng);
        }
      }
    }
  }
}

// --- Every family -----------------------------------------------------------

// A NaN or an infinity anywhere: both report the same first index.
TEST_P(FormatKernelsTest, FirstNonFiniteIndexMatchesReference) {
  std::mt19937 rng(41);
  for (DType dtype : {DType::kFloat8E4M3FN, DType::kFloat8E5M2, DType::kFloat16, DType::kBFloat16,
                      DType::kInt4, DType::kUInt4, DType::kNF4}) {
    for (int64_t start : {0, 1}) {
      for (int64_t bad_at : {0, 1, 5, 16, 17, 40, 63}) {
        for (float bad : {NAN, kInf, -kInf}) {
          QuantizeCase c;
          c.format = dtype;
          c.start = start;
          c.qmin = dtype == DType::kInt4 ? -8 : 0;
          c.qmax = dtype == DType::kInt4 ? 7 : 15;
          c.scales = {0.5f};
          for (int k = 0; k < 64; ++k) c.x.push_back(IntegerValue(rng, 0));
          c.x[bad_at] = bad;
          if (bad_at + 3 < 64) c.x[bad_at + 3] = NAN;
          SCOPED_TRACE(::testing::Message() << DTypeName(dtype) << " start " << start << " bad at "
                                            << bad_at << " " << bad);
          ExpectQuantizeMatches(simd(), c, rng);
        }
      }
    }
  }
}

// The cases the tests above run reach the SIMD kernels; what they do not
// cover goes to the reference.
TEST(SimdCoverageTest, FamiliesOfCalls) {
  QuantizeArgs q;
  const auto family = [&](DType dtype, Rounding rounding) {
    q.format = FindElementFormat(dtype);
    q.rounding = rounding;
    return QuantizeFamily(q);
  };
  for (DType dtype : kMiniFloats) {
    EXPECT_EQ(family(dtype, Rounding::kHalfToEven), SimdFamily::kMiniFloat) << DTypeName(dtype);
    EXPECT_EQ(family(dtype, Rounding::kFloor), SimdFamily::kReference) << DTypeName(dtype);
    EXPECT_EQ(family(dtype, Rounding::kStochastic), SimdFamily::kReference) << DTypeName(dtype);
  }
  for (DType dtype : {DType::kInt4, DType::kUInt4}) {
    for (Rounding rounding : {Rounding::kHalfToEven, Rounding::kHalfAwayFromZero, Rounding::kFloor}) {
      EXPECT_EQ(family(dtype, rounding), SimdFamily::kInt4) << DTypeName(dtype);
    }
    EXPECT_EQ(family(dtype, Rounding::kStochastic), SimdFamily::kReference);
  }
  EXPECT_EQ(family(DType::kNF4, Rounding::kHalfToEven), SimdFamily::kNf4);
  EXPECT_EQ(family(DType::kFloat4E2M1, Rounding::kHalfToEven), SimdFamily::kReference);
  EXPECT_EQ(family(DType::kTernary, Rounding::kHalfToEven), SimdFamily::kReference);
  q.params.levels_stride = 16;  // A table per slot: LUT4.
  EXPECT_EQ(family(DType::kLut4, Rounding::kHalfToEven), SimdFamily::kReference);
  EXPECT_EQ(family(DType::kNF4, Rounding::kHalfToEven), SimdFamily::kReference);
  q.params.levels_stride = 0;
  q.src.dtype = DType::kFloat64;
  EXPECT_EQ(family(DType::kFloat8E4M3FN, Rounding::kHalfToEven), SimdFamily::kReference);

  DequantizeArgs d;
  for (DType dtype : kMiniFloats) {
    d.format = FindElementFormat(dtype);
    EXPECT_EQ(DequantizeFamily(d), SimdFamily::kMiniFloat) << DTypeName(dtype);
  }
  d.format = FindElementFormat(DType::kUInt4);
  EXPECT_EQ(DequantizeFamily(d), SimdFamily::kInt4);
  d.format = FindElementFormat(DType::kNF4);
  EXPECT_EQ(DequantizeFamily(d), SimdFamily::kNf4);
  d.format = FindElementFormat(DType::kLut4);
  d.params.levels_stride = 16;
  EXPECT_EQ(DequantizeFamily(d), SimdFamily::kReference);
}

INSTANTIATE_TEST_SUITE_P(Simd, FormatKernelsTest, ::testing::ValuesIn(SimdPaths()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace quantd
