// Fuzz target: the input is a serialized QuantizeRequest, run as the
// server's Quantize handler runs it, with the scalar reference kernels and
// with each SIMD level. Besides the sanitizers it checks API.md's promises:
// the codes a request may get; the same bytes at every kernel level; complete `params`,
// so that Dequantize(output, params) is accepted and reproduces the
// returned x' bit for bit.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "quantd/v1/quantd.pb.h"
#include "tests/fuzz/fuzz_checks.h"
#include "tests/fuzz/fuzz_server.h"
#include "tests/fuzz/memory_budget.h"
#include "tests/fuzz/proto_mutator.h"

namespace quantd::fuzz {
namespace {

// x' comes back in the input's dtype; Dequantize writes FLOAT32, FLOAT16 or
// BFLOAT16, so FLOAT64 inputs are compared through float32.
void CheckRoundTrip(const v1::QuantizeRequest& request, const v1::QuantizeResponse& response) {
  v1::DequantizeRequest inverse;
  *inverse.mutable_input() = response.output();
  *inverse.mutable_params() = response.params();
  const v1::DType input_dtype = request.input().dtype();
  const bool direct = input_dtype != v1::DTYPE_FLOAT64;
  inverse.set_output_dtype(direct ? input_dtype : v1::DTYPE_FLOAT32);
  v1::DequantizeResponse x2;
  const absl::Status status = Server().Dequantize(inverse, kBestIsa, &x2);
  if (!status.ok()) {
    Fail(absl::StrCat("Dequantize refused Quantize's own output and params: ", status.ToString(),
                      "\nparams: ", response.params().ShortDebugString()));
  }
  if (!request.options().return_dequantized()) return;
  const std::string& expected = response.dequantized().data();
  if (direct) {
    if (x2.output().data() != expected) {
      Fail(absl::StrCat("Dequantize(output, params) differs from the x' Quantize returned; params: ",
                        response.params().ShortDebugString()));
    }
    return;
  }
  const std::string& narrow = x2.output().data();
  for (size_t i = 0; i * 8 < expected.size(); ++i) {
    double wide;
    float x;
    std::memcpy(&wide, expected.data() + 8 * i, 8);
    std::memcpy(&x, narrow.data() + 4 * i, 4);
    if (static_cast<float>(wide) != x && !(wide != wide && x != x)) {
      Fail(absl::StrCat("Dequantize(output, params)[", i, "] = ", x, " differs from x' = ", wide));
    }
  }
}

}  // namespace
}  // namespace quantd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quantd::fuzz;
  if (size > kMaxRequestBytes) return -1;
  MemoryBudget budget(size);
  quantd::v1::QuantizeRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return -1;

  quantd::v1::QuantizeResponse reference;
  const absl::Status reference_status = Server().Quantize(request, kReferenceIsa, &reference);
  CheckRequestStatus(reference_status, "Quantize");
  for (quantd::Isa isa : kSimdIsas) {
    quantd::v1::QuantizeResponse simd;
    const absl::Status status = Server().Quantize(request, isa, &simd);
    CheckSameStatus(reference_status, status, isa, "Quantize");
    if (!status.ok()) continue;
    const std::string level = absl::StrCat(" at ", quantd::IsaName(isa), " and scalar");
    CheckSameBytes(reference.params().SerializeAsString(), simd.params().SerializeAsString(),
                   "Quantize's params" + level);
    CheckSameBytes(reference.output().data(), simd.output().data(), "Quantize's output" + level);
    CheckSameBytes(reference.dequantized().data(), simd.dequantized().data(),
                   "Quantize's dequantized output" + level);
    if (reference.error().clipped_count() != simd.error().clipped_count()) {
      Fail(absl::StrCat("Quantize's clipped_count", level, ": ", simd.error().clipped_count(),
                        " and ", reference.error().clipped_count()));
    }
  }
  if (reference_status.ok()) CheckRoundTrip(request, reference);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned seed) {
  return quantd::fuzz::MutateSerialized<quantd::v1::QuantizeRequest>(data, size, max_size, seed);
}
