// QuantizedMatMul: not built yet.
#include "quantd/matmul.h"

namespace quantd {

absl::StatusOr<MatMulJob> PrepareMatMul(const MatMulInputs&, const MatMulOptions&) {
  return absl::UnimplementedError("QuantizedMatMul is not implemented yet");
}

absl::StatusOr<MatMulResult> RunMatMul(const MatMulJob&, std::span<std::byte>,
                                       const ExecutionContext&) {
  return absl::UnimplementedError("QuantizedMatMul is not implemented yet");
}

absl::StatusOr<MatMulOutput> MatMul(const MatMulInputs& inputs, const MatMulOptions& options,
                                    const ExecutionContext& context) {
  auto job = PrepareMatMul(inputs, options);
  if (!job.ok()) return job.status();
  MatMulOutput out;
  out.data.resize(job->output_bytes);
  auto result = RunMatMul(*job, out.data, context);
  if (!result.ok()) return result.status();
  out.result = *result;
  return out;
}

}  // namespace quantd
