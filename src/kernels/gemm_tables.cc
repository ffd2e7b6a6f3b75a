// The SIMD matrix tables. An entry a level does not have yet is the
// reference's, so a table is always complete.
#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

namespace quantd {
namespace {

GemmKernels Completed(GemmKernels table) {
  const GemmKernels& reference = GemmKernelsReference();
  if (table.dot_s8 == nullptr) table.dot_s8 = reference.dot_s8;
  if (table.dot_u4 == nullptr) table.dot_u4 = reference.dot_u4;
  if (table.epilogue == nullptr) table.epilogue = reference.epilogue;
  if (table.dot_f32 == nullptr) table.dot_f32 = reference.dot_f32;
  if (table.pack_s8 == nullptr) table.pack_s8 = reference.pack_s8;
  if (table.pack_u4 == nullptr) table.pack_u4 = reference.pack_u4;
  return table;
}

}  // namespace

// Each getter answers null on a CPU that cannot run its table.
const GemmKernels* GemmKernelsAvx2() {
  if (DetectedIsa() < Isa::kAvx2) return nullptr;
  static const GemmKernels table =
      Completed({.name = "avx2", .dot_s8 = &DotS8Avx2, .dot_u4 = &DotU4Avx2});
  return &table;
}

const GemmKernels* GemmKernelsAvxVnni() {
  if (DetectedIsa() < Isa::kAvx2 || !HasAvxVnni()) return nullptr;
  static const GemmKernels table =
      Completed({.name = "avx_vnni", .dot_s8 = &DotS8AvxVnni, .dot_u4 = &DotU4AvxVnni});
  return &table;
}

const GemmKernels* GemmKernelsAvx512() {
  if (DetectedIsa() < Isa::kAvx512) return nullptr;
  static const GemmKernels table =
      Completed({.name = "avx512", .dot_s8 = &DotS8Avx512, .dot_u4 = &DotU4Avx512});
  return &table;
}

const GemmKernels* GemmKernelsAvx512Vnni() {
  if (DetectedIsa() < Isa::kAvx512Vnni) return nullptr;
  static const GemmKernels table =
      Completed({.name = "avx512_vnni", .dot_s8 = &DotS8Avx512Vnni, .dot_u4 = &DotU4Avx512Vnni});
  return &table;
}

}  // namespace quantd
