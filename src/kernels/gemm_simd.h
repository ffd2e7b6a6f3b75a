// The SIMD matrix kernels, each defined in a file built with its ISA's
// flags and called only through the tables of gemm_tables.cc, which
// dispatch hands out only when the CPU runs them.
#ifndef QUANTD_KERNELS_GEMM_SIMD_H_
#define QUANTD_KERNELS_GEMM_SIMD_H_

#include "kernels/gemm.h"

namespace quantd {

// True when the CPU and OS run AVX-VNNI (VEX-encoded vpdpbusd on ymm).
bool HasAvxVnni();

// avx2/gemm_dot_avx2.cc: maddubs/madd, exact.
void DotS8Avx2(const GemmTile& tile);
void DotU4Avx2(const GemmTile& tile);
// avx2/gemm_dot_avx_vnni.cc
void DotS8AvxVnni(const GemmTile& tile);
void DotU4AvxVnni(const GemmTile& tile);
// avx512/gemm_dot_avx512.cc (F/BW/VL/DQ, no VNNI)
void DotS8Avx512(const GemmTile& tile);
void DotU4Avx512(const GemmTile& tile);
// avx512/gemm_dot_avx512_vnni.cc
void DotS8Avx512Vnni(const GemmTile& tile);
void DotU4Avx512Vnni(const GemmTile& tile);
// avx512/gemm_rows_avx512_vnni.cc: the direct path.
void DotRowsS8Avx512Vnni(const RowsTile& tile);
void DotRowsU4Avx512Vnni(const RowsTile& tile);
void RowsProductS8Avx512Vnni(const RowsProduct& product);
void RowsProductU4Avx512Vnni(const RowsProduct& product);

// avx2/gemm_support_avx2.cc and avx512/gemm_support_avx512.cc: the
// epilogue and the float path; avx2/gemm_pack_avx2.cc and
// avx512/gemm_pack_avx512.cc: the packing.
void EpilogueAvx2(const GemmEpilogue& epilogue);
void DotF32Avx2(const GemmTileF32& tile);
void PackS8Avx2(const PackArgs& args);
void PackU4Avx2(const PackArgs& args);
void EpilogueAvx512(const GemmEpilogue& epilogue);
void DotF32Avx512(const GemmTileF32& tile);
void PackS8Avx512(const PackArgs& args);
void PackU4Avx512(const PackArgs& args);

}  // namespace quantd

#endif  // QUANTD_KERNELS_GEMM_SIMD_H_
