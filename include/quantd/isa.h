// Kernel instruction-set levels, and what this CPU and OS can run: probed
// once, with CPUID and XGETBV, so that one binary picks the best kernels on
// any x86-64.
#ifndef QUANTD_ISA_H_
#define QUANTD_ISA_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quantd {

// Kernel levels, each a superset of the one below. AVX2 includes FMA and
// F16C; AVX512 is F+BW+VL+DQ; AVX512_VNNI adds VNNI.
enum class Isa : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3 };

absl::string_view IsaName(Isa isa);

// "scalar", "avx2", "avx512", "avx512_vnni".
absl::StatusOr<Isa> ParseIsa(absl::string_view name);

// The highest level that both the CPU supports and the OS has enabled the
// register state for (XGETBV), probed once.
Isa DetectedIsa();

}  // namespace quantd

#endif  // QUANTD_ISA_H_
