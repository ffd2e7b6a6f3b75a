// Fuzz target: the input is a serialized MatMulRequest, run as the
// server's QuantizedMatMul handler runs it (after the call gate's memory
// charge), with the scalar reference kernels and with each SIMD level.
// Besides the sanitizers it checks the codes a request may get and
// include/quantd/matmul.h's promise that the result does not depend on the
// kernel level: the same output bytes, outlier count and reference error
// at every level; an output of [M, N] in the output dtype; and that the
// handler allocates no more than the gate charged for the call.
#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "quantd/v1/quantd.pb.h"
#include "server/held_bytes.h"
#include "tests/fuzz/fuzz_checks.h"
#include "tests/fuzz/fuzz_server.h"
#include "tests/fuzz/memory_budget.h"
#include "tests/fuzz/proto_mutator.h"

namespace quantd::fuzz {
namespace {

int64_t OutputWidth(v1::DType dtype) {
  return dtype == v1::DTYPE_FLOAT16 || dtype == v1::DTYPE_BFLOAT16 ? 2 : 4;
}

void CheckOutputShape(const v1::MatMulRequest& request, const v1::MatMulResponse& response) {
  const v1::Tensor& out = response.output();
  const int64_t m = request.a().shape(0);
  const int64_t n = request.transpose_b() ? request.b().shape(0) : request.b().shape(1);
  if (out.shape_size() != 2 || out.shape(0) != m || out.shape(1) != n ||
      static_cast<int64_t>(out.data().size()) != m * n * OutputWidth(out.dtype())) {
    Fail(absl::StrCat("QuantizedMatMul's output ", out.ShortDebugString().substr(0, 200),
                      " is not [", m, ", ", n, "] with ", out.data().size(), " bytes"));
  }
  if (request.compute_reference_error() != response.stats().has_error()) {
    Fail("QuantizedMatMul's stats.error present without compute_reference_error, or missing "
         "with it");
  }
}

}  // namespace
}  // namespace quantd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quantd::fuzz;
  if (size > kMaxRequestBytes) return -1;
  quantd::v1::MatMulRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;
  // The gate charges the request and its [M, N] output; a handler that
  // allocates in proportion to what the request claims beyond that
  // (two responses are alive at once here) fails.
  const int64_t held = quantd::server::HeldBytes(request);
  MemoryBudget budget(size, held <= kMaxHeldBytes ? 2 * held : 0);

  quantd::v1::MatMulResponse reference;
  const absl::Status reference_status = Server().MatMul(request, kReferenceIsa, &reference);
  CheckRequestStatus(reference_status, "QuantizedMatMul");
  if (reference_status.ok()) CheckOutputShape(request, reference);
  for (quantd::Isa isa : kSimdIsas) {
    quantd::v1::MatMulResponse simd;
    const absl::Status status = Server().MatMul(request, isa, &simd);
    CheckSameStatus(reference_status, status, isa, "QuantizedMatMul");
    if (!status.ok()) continue;
    CheckSameBytes(reference.SerializeAsString(), simd.SerializeAsString(),
                   absl::StrCat("QuantizedMatMul's response at ", quantd::IsaName(isa), " and scalar"));
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned seed) {
  return quantd::fuzz::MutateSerialized<quantd::v1::MatMulRequest>(data, size, max_size, seed);
}
