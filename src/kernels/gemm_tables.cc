// The SIMD matrix tables: each level's dot products, with the epilogue,
// float path and packers of its vector width.
#include "kernels/gemm.h"
#include "kernels/gemm_simd.h"

namespace quantd {

// Each getter answers null on a CPU that cannot run its table.
const GemmKernels* GemmKernelsAvx2() {
  if (DetectedIsa() < Isa::kAvx2) return nullptr;
  static const GemmKernels table{
      .name = "avx2",
      .dot_s8 = &DotS8Avx2,
      .dot_u4 = &DotU4Avx2,
      .epilogue = &EpilogueAvx2,
      .dot_f32 = &DotF32Avx2,
      .pack_s8 = &PackS8Avx2,
      .pack_u4 = &PackU4Avx2,
  };
  return &table;
}

const GemmKernels* GemmKernelsAvxVnni() {
  if (DetectedIsa() < Isa::kAvx2 || !HasAvxVnni()) return nullptr;
  static const GemmKernels table{
      .name = "avx_vnni",
      .dot_s8 = &DotS8AvxVnni,
      .dot_u4 = &DotU4AvxVnni,
      .epilogue = &EpilogueAvx2,
      .dot_f32 = &DotF32Avx2,
      .pack_s8 = &PackS8Avx2,
      .pack_u4 = &PackU4Avx2,
  };
  return &table;
}

const GemmKernels* GemmKernelsAvx512() {
  if (DetectedIsa() < Isa::kAvx512) return nullptr;
  static const GemmKernels table{
      .name = "avx512",
      .dot_s8 = &DotS8Avx512,
      .dot_u4 = &DotU4Avx512,
      .epilogue = &EpilogueAvx512,
      .dot_f32 = &DotF32Avx512,
      .pack_s8 = &PackS8Avx512,
      .pack_u4 = &PackU4Avx512,
  };
  return &table;
}

const GemmKernels* GemmKernelsAvx512Vnni() {
  if (DetectedIsa() < Isa::kAvx512Vnni) return nullptr;
  static const GemmKernels table{
      .name = "avx512_vnni",
      .dot_s8 = &DotS8Avx512Vnni,
      .dot_u4 = &DotU4Avx512Vnni,
      .epilogue = &EpilogueAvx512,
      .dot_f32 = &DotF32Avx512,
      .pack_s8 = &PackS8Avx512,
      .pack_u4 = &PackU4Avx512,
      .dot_rows_s8 = &DotRowsS8Avx512Vnni,
      .dot_rows_u4 = &DotRowsU4Avx512Vnni,
      .rows_product_s8 = &RowsProductS8Avx512Vnni,
      .rows_product_u4 = &RowsProductU4Avx512Vnni,
  };
  return &table;
}

}  // namespace quantd
