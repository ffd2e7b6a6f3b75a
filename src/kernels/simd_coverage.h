// Which quantize and dequantize calls the SIMD kernels take over: one
// statement for every ISA's dispatch, and for the tests that check it.
// Plain declarations: included by files compiled with ISA flags.
#ifndef QUANTD_KERNELS_SIMD_COVERAGE_H_
#define QUANTD_KERNELS_SIMD_COVERAGE_H_

#include "kernels/kernels.h"

namespace quantd {

// The family of SIMD kernels that handles a call; kReference: none does.
enum class SimdFamily {
  kReference,
  kInt8,       // INT8, UINT8.
  kInt4,       // INT4, UINT4.
  kMiniFloat,  // FLOAT8_E4M3FN, FLOAT8_E5M2, FLOAT16, BFLOAT16.
  kNf4,        // NF4 with one table for every slot.
};

// Integers with every rounding but STOCHASTIC, the float casts with
// HALF_TO_EVEN (the IEEE cast; other roundings stay on the reference), NF4;
// FLOAT32, FLOAT16 or BFLOAT16 in and out.
SimdFamily QuantizeFamily(const QuantizeArgs& args);
SimdFamily DequantizeFamily(const DequantizeArgs& args);

}  // namespace quantd

#endif  // QUANTD_KERNELS_SIMD_COVERAGE_H_
