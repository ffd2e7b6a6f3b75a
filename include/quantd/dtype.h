// Element types of tensors and quantization targets, and what the library
// knows about each (width, name, family).
#ifndef QUANTD_DTYPE_H_
#define QUANTD_DTYPE_H_

#include <cstdint>
#include "absl/strings/string_view.h"

namespace quantd {

// The numbers equal those of quantd.v1.DType on the wire, so the server's
// conversion is a checked cast.
enum class DType : int32_t {
  kUnspecified = 0,
  kFloat32 = 1,
  kFloat16 = 2,
  kBFloat16 = 3,
  kFloat64 = 4,
  kFloat8E4M3FN = 5,
  kFloat8E5M2 = 6,
  kFloat4E2M1 = 7,
  kNF4 = 8,
  kInt8 = 9,
  kUInt8 = 10,
  kInt4 = 11,
  kUInt4 = 12,
  kTernary = 13,
  kBinary = 14,
  kInt32 = 15,
  kLut4 = 16,
  kLut8 = 17,
  kE8M0 = 18,
  kAuto = 19,
};

inline constexpr int32_t kMaxDTypeNumber = 19;

// "FLOAT32", "INT8", ...: the wire name without its DTYPE_ prefix.
absl::string_view DTypeName(DType dtype);

// Storage width of one element in bits; 0 for UNSPECIFIED and AUTO.
int DTypeBits(DType dtype);

// FLOAT32, FLOAT16, BFLOAT16 and FLOAT64: the types a float tensor may have.
bool IsFloatInputDType(DType dtype);

}  // namespace quantd

#endif  // QUANTD_DTYPE_H_
