// Fuzz target: the input is a DequantizeStream call, the wire form of
//   message Stream { repeated quantd.v1.DequantizeStreamRequest messages = 1; }
// (a header, then data chunks), run as the server's stream reactor runs it
// (server/tensor_stream.h), with the scalar reference kernels and with each
// SIMD level, in windows of one slice. Besides the sanitizers it checks the
// codes a call may get, the same bytes at every level, and that a stream
// that succeeds gives the bytes of the unary Dequantize of the same tensor.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quantd/v1/quantd.pb.h"
#include "tests/fuzz/fuzz_checks.h"
#include "tests/fuzz/fuzz_server.h"
#include "tests/fuzz/memory_budget.h"
#include "tests/fuzz/stream_input.h"
#include "tests/fuzz/tensor_stream_checks.h"

namespace quantd::fuzz {
namespace {

using Request = v1::DequantizeStreamRequest;
using Response = v1::DequantizeStreamResponse;

std::string Joined(const std::vector<Response>& responses) {
  std::string out;
  for (const Response& r : responses) out += r.data();
  return out;
}

void CheckEqualsUnary(const std::vector<Request>& stream, const std::string& output) {
  const v1::DequantizeStreamHeader& header = stream.front().header();
  v1::DequantizeRequest unary;
  v1::Tensor* input = unary.mutable_input();
  input->set_dtype(header.dtype());
  *input->mutable_shape() = header.shape();
  for (size_t i = 1; i < stream.size(); ++i) *input->mutable_data() += stream[i].data();
  *unary.mutable_params() = header.params();
  unary.set_output_dtype(header.output_dtype());
  v1::DequantizeResponse want;
  const absl::Status status = Server().Dequantize(unary, kReferenceIsa, &want);
  if (!status.ok()) {
    Fail(absl::StrCat("DequantizeStream succeeded where the unary Dequantize of the same tensor "
                      "answered ", status.ToString()));
  }
  CheckSameBytes(want.output().data(), output, "DequantizeStream's output against the unary call's");
}

}  // namespace
}  // namespace quantd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quantd::fuzz;
  if (size > kMaxRequestBytes) return -1;
  MemoryBudget budget(size);
  const auto stream = ParseStream<Request>(data, size);
  if (!stream) return -1;

  std::vector<Response> reference;
  const absl::Status reference_status =
      Server().DequantizeStream(*stream, kReferenceIsa, &reference);
  CheckRequestStatus(reference_status, "DequantizeStream");
  const std::string output = Joined(reference);
  for (quantd::Isa isa : kSimdIsas) {
    std::vector<Response> simd;
    const absl::Status status = Server().DequantizeStream(*stream, isa, &simd);
    CheckSameStatus(reference_status, status, isa, "DequantizeStream");
    if (status.ok()) {
      CheckSameBytes(output, Joined(simd),
                     absl::StrCat("DequantizeStream's output at ", quantd::IsaName(isa), " and scalar"));
    }
  }
  if (reference_status.ok()) CheckEqualsUnary(*stream, output);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned seed) {
  using namespace quantd::fuzz;
  return MutateStream<Request>(data, size, max_size, seed, [](std::vector<Request>* stream) {
    FitStreamData(stream, [](const Request& r) -> const quantd::v1::DequantizeStreamHeader& {
      return r.header();
    });
  });
}
