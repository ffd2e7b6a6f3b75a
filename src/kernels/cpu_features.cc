// CPUID and XGETBV probing. A CPUID bit alone is not enough: the OS must
// also save the wider registers across context switches, which XGETBV tells.
#include "quantd/isa.h"

#include <cpuid.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "kernels/gemm_simd.h"

namespace quantd {
namespace {

uint64_t ReadXcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t{edx} << 32) | eax;
}

Isa Probe() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return Isa::kScalar;
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  const bool fma = ecx & (1u << 12);
  const bool f16c = ecx & (1u << 29);
  if (!osxsave || !avx) return Isa::kScalar;
  const uint64_t xcr0 = ReadXcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;     // SSE and AVX state.
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;   // Plus opmask, ZMM_Hi256, Hi16_ZMM.
  if (!ymm_state || __get_cpuid_max(0, nullptr) < 7) return Isa::kScalar;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool avx2 = ebx & (1u << 5);
  const bool avx512f = ebx & (1u << 16);
  const bool avx512dq = ebx & (1u << 17);
  const bool avx512bw = ebx & (1u << 30);
  const bool avx512vl = ebx & (1u << 31);
  const bool avx512vnni = ecx & (1u << 11);
  if (!(avx2 && fma && f16c)) return Isa::kScalar;
  if (!(zmm_state && avx512f && avx512dq && avx512bw && avx512vl)) return Isa::kAvx2;
  return avx512vnni ? Isa::kAvx512Vnni : Isa::kAvx512;
}

}  // namespace

absl::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512_vnni";
  }
  return "unknown";
}

absl::StatusOr<Isa> ParseIsa(absl::string_view name) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni}) {
    if (name == IsaName(isa)) return isa;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown ISA level '", name, "' (scalar, avx2, avx512, avx512_vnni)"));
}

Isa DetectedIsa() {
  static const Isa detected = Probe();
  return detected;
}

bool HasAvxVnni() {
  static const bool has = [] {
    if (DetectedIsa() < Isa::kAvx2 || __get_cpuid_max(0, nullptr) < 7) return false;
    unsigned eax, ebx, ecx, edx;
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    return (eax & (1u << 4)) != 0;  // CPUID.(7,1):EAX.AVX-VNNI
  }();
  return has;
}

}  // namespace quantd
