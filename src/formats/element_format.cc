// The table of quantized element formats.
#include "formats/element_format.h"

#include <cfloat>

namespace quantd {
namespace {

ElementFormat Integer(DType dtype, int bits, bool is_signed) {
  ElementFormat f;
  f.dtype = dtype;
  f.kind = ElementKind::kInteger;
  f.bits = bits;
  f.is_signed = is_signed;
  return f;
}

ElementFormat MiniFloat(DType dtype, int bits, MiniFloatLayout layout) {
  ElementFormat f;
  f.dtype = dtype;
  f.kind = ElementKind::kMiniFloat;
  f.bits = bits;
  f.symmetric_only = true;
  f.minifloat = layout;
  return f;
}

ElementFormat Codebook(DType dtype, int bits) {
  ElementFormat f;
  f.dtype = dtype;
  f.kind = ElementKind::kCodebook;
  f.bits = bits;
  f.symmetric_only = true;
  f.codebook_size = 1 << bits;
  return f;
}

const ElementFormat kFormats[] = {
    Integer(DType::kInt8, 8, true),
    Integer(DType::kUInt8, 8, false),
    Integer(DType::kInt4, 4, true),
    Integer(DType::kUInt4, 4, false),
    [] {
      ElementFormat f = Integer(DType::kTernary, 2, true);
      f.symmetric_only = true;
      return f;
    }(),
    [] {
      ElementFormat f;
      f.dtype = DType::kBinary;
      f.kind = ElementKind::kBinary;
      f.bits = 1;
      f.symmetric_only = true;
      return f;
    }(),
    // OCP 8-bit floating point (2023): E4M3FN has no infinities and one NaN
    // per sign; E5M2 is IEEE-like.
    MiniFloat(DType::kFloat8E4M3FN, 8, {4, 3, 7, 448.0f, false, true}),
    MiniFloat(DType::kFloat8E5M2, 8, {5, 2, 15, 57344.0f, true, false}),
    // OCP MX FP4: no infinities, no NaN.
    MiniFloat(DType::kFloat4E2M1, 4, {2, 1, 1, 6.0f, false, false}),
    MiniFloat(DType::kFloat16, 16, {5, 10, 15, 65504.0f, true, false}),
    MiniFloat(DType::kBFloat16, 16, {8, 7, 127, 0x1.fep127f, true, false}),
    Codebook(DType::kNF4, 4),
    Codebook(DType::kLut4, 4),
    Codebook(DType::kLut8, 8),
};

}  // namespace

const float kNF4Levels[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

const ElementFormat* FindElementFormat(DType dtype) {
  for (const ElementFormat& f : kFormats) {
    if (f.dtype == dtype) return &f;
  }
  return nullptr;
}

void IntegerRange(const ElementFormat& format, bool symmetric, bool full_range,
                  int32_t* qmin, int32_t* qmax) {
  if (format.dtype == DType::kTernary) {
    *qmin = -1;
    *qmax = 1;
    return;
  }
  if (!format.is_signed) {
    *qmin = 0;
    *qmax = (1 << format.bits) - 1;
    return;
  }
  *qmax = (1 << (format.bits - 1)) - 1;
  *qmin = symmetric && !full_range ? -*qmax : -*qmax - 1;
}

float SymmetricLimit(const ElementFormat& format, bool full_range) {
  switch (format.kind) {
    case ElementKind::kInteger: {
      int32_t qmin, qmax;
      IntegerRange(format, /*symmetric=*/true, full_range, &qmin, &qmax);
      // Signed full range spreads [-amax, amax] over all of [qmin, qmax], as
      // PyTorch's symmetric observers do; unsigned keeps zero at q = 0.
      return full_range && format.is_signed ? static_cast<float>(qmax - qmin) / 2.0f
                                            : static_cast<float>(qmax);
    }
    case ElementKind::kMiniFloat:
      return format.minifloat.max_finite;
    case ElementKind::kCodebook:
    case ElementKind::kBinary:
      return 1.0f;
  }
  return 1.0f;
}

}  // namespace quantd
