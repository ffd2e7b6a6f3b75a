// RunQuantize's two steps, for callers that observe ranges themselves:
// Analyze derives many candidates' ranges from one shared pass.
#ifndef QUANTD_OPS_QUANTIZE_STEPS_H_
#define QUANTD_OPS_QUANTIZE_STEPS_H_

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/execution.h"
#include "quantd/quantize.h"

namespace quantd {

// The complete parameters of a job without explicit ones, from each slot's
// observed minimum and maximum (and whatever further pass its range method
// needs). `mins`/`maxs` are indexed by the job's slots.
absl::StatusOr<QuantParams> ChooseQuantParams(const QuantizeJob& job,
                                              const std::vector<float>& mins,
                                              const std::vector<float>& maxs,
                                              const ExecutionContext& context);

// Quantizes elements [first, first + count) with complete parameters:
// `input` holds their bytes, `output` their codes (and `dequantized`, when
// not empty, x'). `first` must be a multiple of kBlockElements, so that the
// codes start on a byte and the blocks are the whole tensor's. Each block's
// error sums are merged into `sums` in block order, so slices merged one
// after the other add up exactly as the whole tensor does.
absl::Status QuantizeRange(const QuantizeJob& job, const QuantParams& params, int64_t first,
                           int64_t count, std::span<const std::byte> input,
                           std::span<std::byte> output, std::span<std::byte> dequantized,
                           ErrorSums* sums, const ExecutionContext& context);

// The quantizing pass with complete parameters, with the error sums and the
// finiteness check fused in.
absl::StatusOr<QuantizeResult> QuantizeWithParams(const QuantizeJob& job, QuantParams params,
                                                  std::span<std::byte> output,
                                                  std::span<std::byte> dequantized,
                                                  const ExecutionContext& context);

}  // namespace quantd

#endif  // QUANTD_OPS_QUANTIZE_STEPS_H_
