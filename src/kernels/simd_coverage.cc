// Which calls the SIMD kernels take over.
#include "kernels/simd_coverage.h"

namespace quantd {
namespace {

SimdFamily FamilyOf(const ElementFormat& format, int64_t levels_stride) {
  switch (format.dtype) {
    case DType::kInt8:
    case DType::kUInt8:
      return SimdFamily::kInt8;
    case DType::kInt4:
    case DType::kUInt4:
      return SimdFamily::kInt4;
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2:
    case DType::kFloat16:
    case DType::kBFloat16:
      return SimdFamily::kMiniFloat;
    case DType::kNF4:
      // The kernels keep one 16-entry table in a register.
      return levels_stride == 0 ? SimdFamily::kNf4 : SimdFamily::kReference;
    default:
      return SimdFamily::kReference;
  }
}

}  // namespace

SimdFamily QuantizeFamily(const QuantizeArgs& args) {
  if (args.src.dtype == DType::kFloat64 || args.deq_dtype == DType::kFloat64) {
    return SimdFamily::kReference;
  }
  const SimdFamily family = FamilyOf(*args.format, args.params.levels_stride);
  switch (family) {
    case SimdFamily::kInt8:
    case SimdFamily::kInt4:
      return args.rounding == Rounding::kStochastic ? SimdFamily::kReference : family;
    case SimdFamily::kMiniFloat:
      return args.rounding == Rounding::kHalfToEven ? family : SimdFamily::kReference;
    default:
      // NF4 maps to the nearest level whatever the rounding, as the
      // reference does.
      return family;
  }
}

SimdFamily DequantizeFamily(const DequantizeArgs& args) {
  if (args.dst_dtype == DType::kFloat64) return SimdFamily::kReference;
  return FamilyOf(*args.format, args.params.levels_stride);
}

}  // namespace quantd
