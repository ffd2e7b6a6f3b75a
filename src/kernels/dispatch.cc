// Choosing a kernel table: the best one built, supported by the CPU (and
// OS), allowed by the caller and by the QUANTD_ISA environment variable (so
// that tests and benchmarks can reach every path on one machine).
#include <algorithm>
#include <cstdlib>

#include "kernels/kernels.h"

namespace quantd {
namespace {

Isa EnvironmentCap() {
  static const Isa cap = [] {
    const char* value = std::getenv("QUANTD_ISA");
    if (value == nullptr || *value == '\0') return Isa::kAvx512Vnni;
    auto parsed = ParseIsa(value);
    return parsed.ok() ? *parsed : Isa::kAvx512Vnni;
  }();
  return cap;
}

}  // namespace

Isa AllowedIsa(Isa max_isa) { return std::min({max_isa, DetectedIsa(), EnvironmentCap()}); }

const KernelTable& SelectKernels(Isa max_isa) {
  const Isa level = AllowedIsa(max_isa);
  if (level >= Isa::kAvx512 && KernelsAvx512() != nullptr) return *KernelsAvx512();
  if (level >= Isa::kAvx2 && KernelsAvx2() != nullptr) return *KernelsAvx2();
  return KernelsReference();
}

}  // namespace quantd
