// Fuzz target: the input is a serialized DequantizeRequest, run as the
// server's Dequantize handler runs it, with the scalar reference kernels
// and with each SIMD level: besides the sanitizers, it checks the codes a
// request may get and that every level writes the same bytes.
#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "quantd/v1/quantd.pb.h"
#include "tests/fuzz/fuzz_checks.h"
#include "tests/fuzz/fuzz_server.h"
#include "tests/fuzz/memory_budget.h"
#include "tests/fuzz/proto_mutator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quantd::fuzz;
  if (size > kMaxRequestBytes) return -1;
  MemoryBudget budget(size);
  quantd::v1::DequantizeRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;

  quantd::v1::DequantizeResponse reference;
  const absl::Status reference_status = Server().Dequantize(request, kReferenceIsa, &reference);
  CheckRequestStatus(reference_status, "Dequantize");
  for (quantd::Isa isa : kSimdIsas) {
    quantd::v1::DequantizeResponse simd;
    const absl::Status status = Server().Dequantize(request, isa, &simd);
    CheckSameStatus(reference_status, status, isa, "Dequantize");
    if (status.ok()) {
      CheckSameBytes(reference.output().data(), simd.output().data(),
                     absl::StrCat("Dequantize's output at ", quantd::IsaName(isa), " and scalar"));
    }
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned seed) {
  return quantd::fuzz::MutateSerialized<quantd::v1::DequantizeRequest>(data, size, max_size, seed);
}
