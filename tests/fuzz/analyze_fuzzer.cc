// Fuzz target: the input is a serialized AnalyzeRequest, run as the
// server's Analyze handler runs it, with the scalar reference kernels and
// with each SIMD level. Besides the sanitizers it checks the codes a
// request may get, one row per candidate, and that the kernel levels agree
// on what does not depend on summation order: each row's bits per element,
// element count and clipped count.
#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "quantd/v1/quantd.pb.h"
#include "tests/fuzz/fuzz_checks.h"
#include "tests/fuzz/fuzz_server.h"
#include "tests/fuzz/memory_budget.h"
#include "tests/fuzz/proto_mutator.h"

namespace quantd::fuzz {
namespace {

// What does not depend on summation order must not depend on the kernels.
void CheckSameRows(const v1::AnalyzeResponse& reference, const v1::AnalyzeResponse& simd,
                   Isa isa) {
  if (reference.rows_size() != simd.rows_size()) {
    Fail(absl::StrCat("Analyze returned ", reference.rows_size(), " rows with scalar kernels and ",
                      simd.rows_size(), " at ", IsaName(isa)));
  }
  for (int i = 0; i < simd.rows_size(); ++i) {
    const v1::AnalyzeRow& a = reference.rows(i);
    const v1::AnalyzeRow& b = simd.rows(i);
    if (a.bits_per_element() != b.bits_per_element() || a.error().count() != b.error().count() ||
        a.error().clipped_count() != b.error().clipped_count()) {
      Fail(absl::StrCat("Analyze row ", i, " at ", IsaName(isa), " and scalar: ",
                        b.ShortDebugString(), " against ", a.ShortDebugString()));
    }
  }
}

}  // namespace
}  // namespace quantd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quantd::fuzz;
  if (size > kMaxRequestBytes) return -1;
  MemoryBudget budget(size);
  quantd::v1::AnalyzeRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;

  quantd::v1::AnalyzeResponse reference;
  const absl::Status reference_status = Server().Analyze(request, kReferenceIsa, &reference);
  CheckRequestStatus(reference_status, "Analyze");
  if (reference_status.ok() && request.candidates_size() > 0 &&
      reference.rows_size() != request.candidates_size()) {
    Fail(absl::StrCat("Analyze returned ", reference.rows_size(), " rows for ",
                      request.candidates_size(), " candidates"));
  }
  for (quantd::Isa isa : kSimdIsas) {
    quantd::v1::AnalyzeResponse simd;
    const absl::Status status = Server().Analyze(request, isa, &simd);
    CheckSameStatus(reference_status, status, isa, "Analyze");
    if (status.ok()) CheckSameRows(reference, simd, isa);
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned seed) {
  return quantd::fuzz::MutateSerialized<quantd::v1::AnalyzeRequest>(data, size, max_size, seed);
}
