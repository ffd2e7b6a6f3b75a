// Names and widths of element types.
#include "quantd/dtype.h"

namespace quantd {

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kUnspecified: return "UNSPECIFIED";
    case DType::kFloat32: return "FLOAT32";
    case DType::kFloat16: return "FLOAT16";
    case DType::kBFloat16: return "BFLOAT16";
    case DType::kFloat64: return "FLOAT64";
    case DType::kFloat8E4M3FN: return "FLOAT8_E4M3FN";
    case DType::kFloat8E5M2: return "FLOAT8_E5M2";
    case DType::kFloat4E2M1: return "FLOAT4_E2M1";
    case DType::kNF4: return "NF4";
    case DType::kInt8: return "INT8";
    case DType::kUInt8: return "UINT8";
    case DType::kInt4: return "INT4";
    case DType::kUInt4: return "UINT4";
    case DType::kTernary: return "TERNARY";
    case DType::kBinary: return "BINARY";
    case DType::kInt32: return "INT32";
    case DType::kLut4: return "LUT4";
    case DType::kLut8: return "LUT8";
    case DType::kE8M0: return "E8M0";
    case DType::kAuto: return "AUTO";
  }
  return "UNKNOWN";
}

int DTypeBits(DType dtype) {
  switch (dtype) {
    case DType::kFloat64: return 64;
    case DType::kFloat32:
    case DType::kInt32: return 32;
    case DType::kFloat16:
    case DType::kBFloat16: return 16;
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kLut8:
    case DType::kE8M0: return 8;
    case DType::kFloat4E2M1:
    case DType::kNF4:
    case DType::kInt4:
    case DType::kUInt4:
    case DType::kLut4: return 4;
    case DType::kTernary: return 2;
    case DType::kBinary: return 1;
    case DType::kUnspecified:
    case DType::kAuto: return 0;
  }
  return 0;
}

bool IsFloatInputDType(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat16 ||
         dtype == DType::kBFloat16 || dtype == DType::kFloat64;
}

}  // namespace quantd
