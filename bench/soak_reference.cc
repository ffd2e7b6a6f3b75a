// Scalar references for the soak; see soak_reference.h.
#include "soak_reference.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace quantd::soak {

int64_t Layout::slot_count() const {
  switch (slots) {
    case Slots::kPerTensor:
      return 1;
    case Slots::kPerRow:
      return rows;
    case Slots::kPerGroup:
      return rows * groups_per_row();
  }
  return 1;
}

int64_t Layout::SlotOf(int64_t row, int64_t col) const {
  switch (slots) {
    case Slots::kPerTensor:
      return 0;
    case Slots::kPerRow:
      return row;
    case Slots::kPerGroup:
      return row * groups_per_row() + col / group_size;
  }
  return 0;
}

float SymmetricScale(float amax, float qmax) {
  if (amax == 0) return 1.0f;
  return std::max(amax / qmax, FLT_MIN);
}

float TargetLimit(Target target) {
  switch (target) {
    case Target::kInt8:
      return 127;
    case Target::kInt4:
      return 7;
    case Target::kFp8E4M3:
      return 448;
  }
  return 1;
}

uint8_t EncodeE4M3(float v) {
  const uint8_t sign = std::signbit(v) ? 0x80 : 0;
  const float a = std::fabs(v);
  // Subnormals are multiples of 2^-9 below the smallest normal 2^-6; a
  // subnormal that rounds up to 8 * 2^-9 is the code of 2^-6 (0x08).
  if (a < 0x1p-6f) return sign | static_cast<uint8_t>(std::nearbyint(a * 0x1p9f));
  // Beyond 448 + half its quantum of 32 the value rounds to 480, which
  // E4M3FN lacks (its code is NaN): saturate. 464 itself is a tie that goes
  // to the even mantissa, 448.
  if (a > 464.0f) return sign | 0x7E;
  int exponent = 0;
  std::frexp(a, &exponent);  // a = f * 2^exponent, f in [0.5, 1).
  exponent -= 1;             // a in [2^exponent, 2^(exponent+1)).
  int mantissa = static_cast<int>(std::nearbyint(std::ldexp(a, 3 - exponent)));  // 8..16
  if (mantissa == 16) {
    mantissa = 8;
    ++exponent;
  }
  return sign | static_cast<uint8_t>(((exponent + 7) << 3) | (mantissa - 8));
}

float DecodeE4M3(uint8_t code) {
  const int exponent = (code >> 3) & 0xF;
  const int mantissa = code & 7;
  const float magnitude = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -9)
                                        : std::ldexp(1.0f + mantissa / 8.0f, exponent - 7);
  return code & 0x80 ? -magnitude : magnitude;
}

int Int4At(const std::string& packed, int64_t i) {
  const int nibble = (static_cast<uint8_t>(packed[i / 2]) >> (i % 2 == 0 ? 0 : 4)) & 0xF;
  return nibble >= 8 ? nibble - 16 : nibble;
}

void MinMax(std::span<const float> x, float* lo, float* hi) {
  *lo = x.empty() ? 0.0f : x[0];
  *hi = *lo;
  for (float v : x) {
    *lo = std::min(*lo, v);
    *hi = std::max(*hi, v);
  }
}

namespace {

std::vector<float> SlotScales(std::span<const float> x, const Layout& layout, float qmax) {
  std::vector<float> amax(layout.slot_count(), 0.0f);
  for (int64_t r = 0; r < layout.rows; ++r) {
    for (int64_t c = 0; c < layout.cols; ++c) {
      float& m = amax[layout.SlotOf(r, c)];
      m = std::max(m, std::fabs(x[r * layout.cols + c]));
    }
  }
  for (float& a : amax) a = SymmetricScale(a, qmax);
  return amax;
}

float LevelOf(Target target, const std::string& codes, int64_t i) {
  switch (target) {
    case Target::kInt8:
      return static_cast<float>(static_cast<int8_t>(codes[i]));
    case Target::kInt4:
      return static_cast<float>(Int4At(codes, i));
    case Target::kFp8E4M3:
      return DecodeE4M3(static_cast<uint8_t>(codes[i]));
  }
  return 0;
}

}  // namespace

ReferenceQuantization Quantize(std::span<const float> x, const Layout& layout, Target target,
                               std::span<const float> scales) {
  ReferenceQuantization r;
  const float qmax = TargetLimit(target);
  r.scales = scales.empty() ? SlotScales(x, layout, qmax)
                            : std::vector<float>(scales.begin(), scales.end());
  const int64_t n = layout.count();
  r.codes.assign(target == Target::kInt4 ? (n + 1) / 2 : n, '\0');
  for (int64_t row = 0; row < layout.rows; ++row) {
    for (int64_t col = 0; col < layout.cols; ++col) {
      const int64_t i = row * layout.cols + col;
      const float scale = r.scales[layout.SlotOf(row, col)];
      const float v = x[i] * (1.0f / scale);
      float level;
      if (target == Target::kFp8E4M3) {
        const uint8_t code = EncodeE4M3(v);
        r.codes[i] = static_cast<char>(code);
        level = DecodeE4M3(code);
        // Saturation is clipping: the value rounded beyond the largest finite.
        if (std::fabs(v) > 464.0f) ++r.clipped;
      } else {
        level = std::nearbyint(v);  // Half to even in the default rounding mode.
        if (level > qmax || level < -qmax) {
          ++r.clipped;
          level = std::clamp(level, -qmax, qmax);
        }
        const int q = static_cast<int>(level);
        if (target == Target::kInt8) {
          r.codes[i] = static_cast<char>(static_cast<int8_t>(q));
        } else {
          r.codes[i / 2] = static_cast<char>(static_cast<uint8_t>(r.codes[i / 2]) |
                                             ((q & 0xF) << (i % 2 == 0 ? 0 : 4)));
        }
      }
      const double e = static_cast<double>(x[i]) - static_cast<double>(level * scale);
      r.sum_sq_error += e * e;
      r.max_abs_error = std::max(r.max_abs_error, std::fabs(e));
    }
  }
  return r;
}

std::vector<float> Dequantize(const std::string& codes, const Layout& layout, Target target,
                              std::span<const float> scales) {
  std::vector<float> out(layout.count());
  for (int64_t row = 0; row < layout.rows; ++row) {
    for (int64_t col = 0; col < layout.cols; ++col) {
      const int64_t i = row * layout.cols + col;
      out[i] = LevelOf(target, codes, i) * scales[layout.SlotOf(row, col)];
    }
  }
  return out;
}

}  // namespace quantd::soak
