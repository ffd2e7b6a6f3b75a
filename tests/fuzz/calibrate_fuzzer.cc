// Fuzz target: the input is a Calibrate stream, the wire form of
//   message CalibrateStream { repeated quantd.v1.CalibrateRequest messages = 1; }
// run as the server's Calibrate reactor runs it, with the scalar reference
// kernels and with each SIMD level. Besides the sanitizers it checks the
// codes a request may get, the same response at every level, and API.md's
// promises on the result: `state`, passed back unchanged as the only
// `merge` of a new stream, is accepted and gives the same params (unless
// it is a moving average, which cannot merge); `params` feed Quantize's
// `params` unchanged (for a tensor shaped like the last batch).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "quantd/v1/quantd.pb.h"
#include "tests/fuzz/fuzz_checks.h"
#include "tests/fuzz/fuzz_server.h"
#include "tests/fuzz/memory_budget.h"
#include "tests/fuzz/stream_input.h"

namespace quantd::fuzz {
namespace {

// A calibration holds at most 2^24 histogram counts (src/ops/calibrate.cc),
// 128 MiB, several times over while a batch is observed: the state, the
// copy a bad batch must not touch, one per worker (two here), and the
// response's state; then this target merges the state back.
constexpr int64_t kHistogramBytes = (int64_t{1} << 24) * 8;
constexpr int64_t kCalibrationBound = 6 * kHistogramBytes;

void CheckStateMergesBack(const v1::CalibrateRequest& first, const v1::CalibrateResponse& result) {
  // API.md: a moving average depends on order and cannot be merged.
  if (result.state().options().method() == v1::RANGE_METHOD_MOVING_AVERAGE_MINMAX) return;
  v1::CalibrateRequest merged;
  *merged.mutable_options() = first.options();
  merged.mutable_options()->clear_merge();
  *merged.mutable_options()->add_merge() = result.state();
  v1::CalibrateResponse again;
  const absl::Status status = Server().Calibrate({&merged, 1}, kBestIsa, &again);
  if (!status.ok()) {
    Fail(absl::StrCat("a stream merging only the returned state failed: ", status.ToString()));
  }
  CheckSameBytes(result.params().SerializeAsString(), again.params().SerializeAsString(),
                 "the params of the merged-back state (against the stream's)");
}

void CheckParamsFeedQuantize(const v1::Tensor& batch, const v1::CalibrateResponse& result) {
  v1::QuantizeRequest quantize;
  *quantize.mutable_input() = batch;
  *quantize.mutable_options()->mutable_params() = result.params();
  v1::QuantizeResponse response;
  const absl::Status status = Server().Quantize(quantize, kBestIsa, &response);
  if (!status.ok()) {
    Fail(absl::StrCat("Quantize refused Calibrate's params: ", status.ToString(),
                      "\nparams: ", result.params().ShortDebugString()));
  }
}

}  // namespace
}  // namespace quantd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quantd::fuzz;
  if (size > kMaxRequestBytes) return -1;
  MemoryBudget budget(size, kCalibrationBound);
  const auto stream = ParseStream<quantd::v1::CalibrateRequest>(data, size);
  if (!stream) return -1;

  quantd::v1::CalibrateResponse reference;
  const absl::Status reference_status = Server().Calibrate(*stream, kReferenceIsa, &reference);
  CheckRequestStatus(reference_status, "Calibrate");
  for (quantd::Isa isa : kSimdIsas) {
    quantd::v1::CalibrateResponse simd;
    const absl::Status status = Server().Calibrate(*stream, isa, &simd);
    CheckSameStatus(reference_status, status, isa, "Calibrate");
    if (status.ok()) {
      CheckSameBytes(reference.SerializeAsString(), simd.SerializeAsString(),
                     absl::StrCat("Calibrate's response at ", quantd::IsaName(isa), " and scalar"));
    }
  }
  if (!reference_status.ok()) return 0;
  CheckStateMergesBack(stream->front(), reference);
  for (auto it = stream->rbegin(); it != stream->rend(); ++it) {
    if (it->has_batch()) {
      CheckParamsFeedQuantize(it->batch(), reference);
      break;
    }
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned seed) {
  return quantd::fuzz::MutateStream<quantd::v1::CalibrateRequest>(data, size, max_size, seed);
}
