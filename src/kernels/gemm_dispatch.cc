// Choosing the matrix kernels: the best table built and run by this CPU at
// the level allowed (kernels.h's AllowedIsa). AVX-VNNI, the VEX form of
// VNNI, counts as the AVX2 level: forcing avx2 still multiplies with VNNI
// where the CPU has it (tests reach the plain AVX2 table directly).
#include "kernels/gemm.h"
#include "kernels/kernels.h"

namespace quantd {

const GemmKernels& SelectGemmKernels(Isa max_isa) {
  const Isa level = AllowedIsa(max_isa);
  if (level >= Isa::kAvx512Vnni && GemmKernelsAvx512Vnni() != nullptr) return *GemmKernelsAvx512Vnni();
  if (level >= Isa::kAvx512 && GemmKernelsAvx512() != nullptr) return *GemmKernelsAvx512();
  if (level >= Isa::kAvx2 && GemmKernelsAvxVnni() != nullptr) return *GemmKernelsAvxVnni();
  if (level >= Isa::kAvx2 && GemmKernelsAvx2() != nullptr) return *GemmKernelsAvx2();
  return GemmKernelsReference();
}

}  // namespace quantd
