// What every fuzz target checks besides the sanitizers: the size bound a
// server puts on requests, the status codes a request may get, and that the
// scalar reference kernels and the best SIMD kernels agree.
#ifndef QUANTD_TESTS_FUZZ_FUZZ_CHECKS_H_
#define QUANTD_TESTS_FUZZ_FUZZ_CHECKS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "quantd/isa.h"

namespace quantd::fuzz {

// Inputs above this are not requests: quantd's --max_message_bytes turns
// them away before any handler runs. Fuzzing runs far smaller inputs
// (-max_len); this keeps a hand-fed file from running for minutes.
inline constexpr size_t kMaxRequestBytes = size_t{4} << 20;

// Every request runs with the scalar reference kernels and again with
// each SIMD level (levels this CPU lacks, or QUANTD_ISA caps, fall back to
// the best below them), and the results are compared.
inline constexpr Isa kReferenceIsa = Isa::kScalar;
inline constexpr Isa kSimdIsas[] = {Isa::kAvx2, Isa::kAvx512Vnni};
inline constexpr Isa kBestIsa = Isa::kAvx512Vnni;

// Prints `what` and aborts: libFuzzer saves the input as a crash.
[[noreturn]] void Fail(absl::string_view what);

// Fails unless `status` is one a request may get: OK, or the codes of
// API.md's "Errors" that a handler returns (INVALID_ARGUMENT,
// RESOURCE_EXHAUSTED, UNIMPLEMENTED), with a message. INTERNAL and the
// rest mean the library broke its own contract.
void CheckRequestStatus(const absl::Status& status, absl::string_view rpc);

// Fails unless the level `isa` gave the reference's status.
void CheckSameStatus(const absl::Status& reference, const absl::Status& other, Isa isa,
                     absl::string_view rpc);

// Fails unless two results that must be bit-identical are.
void CheckSameBytes(const std::string& reference, const std::string& other,
                    absl::string_view what);

}  // namespace quantd::fuzz

#endif  // QUANTD_TESTS_FUZZ_FUZZ_CHECKS_H_
