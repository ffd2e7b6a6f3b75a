// What each quantized element type is: its family, its width, its integer
// range or float layout, and the largest magnitude a scale maps onto. One
// table, so that scale selection, the kernels and the checks agree.
#ifndef QUANTD_FORMATS_ELEMENT_FORMAT_H_
#define QUANTD_FORMATS_ELEMENT_FORMAT_H_

#include <cstdint>

#include "quantd/dtype.h"

namespace quantd {

enum class ElementKind {
  kInteger,    // INT8, UINT8, INT4, UINT4, TERNARY: q = clamp(round(v) + zp).
  kMiniFloat,  // FP8 E4M3FN/E5M2, FP4 E2M1, FLOAT16, BFLOAT16: a float cast.
  kCodebook,   // NF4, LUT4, LUT8: the nearest of a table of levels.
  kBinary,     // BINARY: the sign.
};

// A small IEEE-like float: sign, exponent, mantissa, subnormals. Formats
// without infinities (E4M3FN, E2M1) use the top exponent for numbers.
struct MiniFloatLayout {
  int exponent_bits = 0;
  int mantissa_bits = 0;
  int exponent_bias = 0;
  float max_finite = 0;
  bool has_infinity = false;  // E5M2, FLOAT16, BFLOAT16: top exponent is Inf/NaN.
  bool nan_is_all_ones = false;  // E4M3FN: S.1111.111 is NaN, nothing is Inf.
};

struct ElementFormat {
  DType dtype = DType::kUnspecified;
  ElementKind kind = ElementKind::kInteger;
  int bits = 0;
  bool is_signed = true;         // Integers: two's complement storage.
  bool symmetric_only = false;   // Float, codebook and 1/2-bit types.
  MiniFloatLayout minifloat;     // kMiniFloat only.
  int codebook_size = 0;         // kCodebook: levels per table (16 or 256).
};

// The format of a quantized dtype, or null for dtypes that are not targets
// (FLOAT32, FLOAT64, INT32, E8M0, AUTO, UNSPECIFIED).
const ElementFormat* FindElementFormat(DType dtype);

// The integer range [qmin, qmax] of an integer format: symmetric signed
// types keep it restricted (-qmax..qmax) unless full_range. TERNARY is
// always -1..1.
void IntegerRange(const ElementFormat& format, bool symmetric, bool full_range,
                  int32_t* qmin, int32_t* qmax);

// The magnitude a symmetric scale maps the range's absolute maximum onto:
// qmax for integers ((qmax - qmin) / 2 with full_range), the largest finite
// value for float formats, 1 for NF4, codebooks and BINARY.
float SymmetricLimit(const ElementFormat& format, bool full_range);

// The 16 NF4 levels of QLoRA (Dettmers et al. 2023), ascending: code 0 is
// -1, code 7 is 0, code 15 is 1.
extern const float kNF4Levels[16];

}  // namespace quantd

#endif  // QUANTD_FORMATS_ELEMENT_FORMAT_H_
