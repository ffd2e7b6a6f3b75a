// Fuzz target: the input is a QuantizeStream call, the wire form of
//   message Stream { repeated quantd.v1.QuantizeStreamRequest messages = 1; }
// (a header, then data chunks), run as the server's stream reactor runs it
// (server/tensor_stream.h), with the scalar reference kernels and with each
// SIMD level, in windows of one slice and a buffer limit of 1 MiB. Besides
// the sanitizers it checks the codes a call may get; the same responses at
// every level; the order API.md gives them (params, data, error); and that
// a stream that succeeds gives the params, bytes and error of the unary
// Quantize of the same tensor, bit for bit.
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

using Request = v1::QuantizeStreamRequest;
using Response = v1::QuantizeStreamResponse;

std::string Serialize(const std::vector<Response>& responses) {
  std::string out;
  for (const Response& r : responses) out += r.SerializeAsString();
  return out;
}

// Params first, then data, then the error, and nothing else.
std::string CheckOrder(const std::vector<Response>& responses) {
  if (responses.size() < 2 || !responses.front().has_params() || !responses.back().has_error()) {
    Fail(absl::StrCat("QuantizeStream answered ", responses.size(),
                      " messages, not params, data and error"));
  }
  std::string data;
  for (size_t i = 1; i + 1 < responses.size(); ++i) {
    if (responses[i].msg_case() != Response::kData) {
      Fail(absl::StrCat("QuantizeStream's message ", i, " is not data"));
    }
    data += responses[i].data();
  }
  return data;
}

void CheckEqualsUnary(const std::vector<Request>& stream, const std::vector<Response>& responses) {
  const std::string codes = CheckOrder(responses);
  const v1::QuantizeStreamHeader& header = stream.front().header();
  v1::QuantizeRequest unary;
  v1::Tensor* input = unary.mutable_input();
  input->set_dtype(header.dtype());
  *input->mutable_shape() = header.shape();
  for (size_t i = 1; i < stream.size(); ++i) *input->mutable_data() += stream[i].data();
  *unary.mutable_options() = header.options();
  v1::QuantizeResponse want;
  const absl::Status status = Server().Quantize(unary, kReferenceIsa, &want);
  if (!status.ok()) {
    Fail(absl::StrCat("QuantizeStream succeeded where the unary Quantize of the same tensor "
                      "answered ", status.ToString()));
  }
  CheckSameBytes(want.params().SerializeAsString(), responses.front().params().SerializeAsString(),
                 "QuantizeStream's params against the unary call's");
  CheckSameBytes(want.output().data(), codes, "QuantizeStream's codes against the unary call's");
  CheckSameBytes(want.error().SerializeAsString(), responses.back().error().SerializeAsString(),
                 "QuantizeStream's error against the unary call's");
}

}  // namespace
}  // namespace quantd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quantd::fuzz;
  if (size > kMaxRequestBytes) return -1;
  // The buffered path holds the tensor (at most 1 MiB) and its codes.
  MemoryBudget budget(size, 4 * kMaxBufferBytes);
  const auto stream = ParseStream<Request>(data, size);
  if (!stream) return -1;

  std::vector<Response> reference;
  const absl::Status reference_status = Server().QuantizeStream(*stream, kReferenceIsa, &reference);
  CheckRequestStatus(reference_status, "QuantizeStream");
  for (quantd::Isa isa : kSimdIsas) {
    std::vector<Response> simd;
    const absl::Status status = Server().QuantizeStream(*stream, isa, &simd);
    CheckSameStatus(reference_status, status, isa, "QuantizeStream");
    // The error's sums may be added in another order by other kernels:
    // what must agree is every message but the last, and the counts.
    if (status.ok()) {
      CheckSameBytes(Serialize({reference.begin(), reference.end() - 1}),
                     Serialize({simd.begin(), simd.end() - 1}),
                     absl::StrCat("QuantizeStream's responses at ", quantd::IsaName(isa),
                                  " and scalar"));
      if (reference.back().error().count() != simd.back().error().count() ||
          reference.back().error().clipped_count() != simd.back().error().clipped_count()) {
        Fail(absl::StrCat("QuantizeStream's error counts at ", quantd::IsaName(isa),
                          " and scalar differ"));
      }
    }
  }
  if (reference_status.ok()) CheckEqualsUnary(*stream, reference);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned seed) {
  using namespace quantd::fuzz;
  return MutateStream<Request>(data, size, max_size, seed, [](std::vector<Request>* stream) {
    FitStreamData(stream, [](const Request& r) -> const quantd::v1::QuantizeStreamHeader& {
      return r.header();
    });
  });
}
