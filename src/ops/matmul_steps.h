// The passes of RunMatMul after its operands are ready: the blocked
// product on the kernels, and the float64 product it is measured against.
#ifndef QUANTD_OPS_MATMUL_STEPS_H_
#define QUANTD_OPS_MATMUL_STEPS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "kernels/gemm.h"
#include "ops/matmul_operands.h"
#include "quantd/error_stats.h"
#include "quantd/matmul.h"

namespace quantd {

// Y = A · B (+ bias) into `output`, in blocks of columns and rows on the
// context's pool: each block packs its columns of B once, multiplies every
// span, adds the outlier columns in float64, then rounds into the output
// dtype.
absl::Status MultiplyBlocks(const MatMulJob& job, const WeightOperand& weights,
                            const ActivationOperand& activations,
                            const std::vector<int64_t>& outliers, const GemmKernels& kernels,
                            std::span<std::byte> output, const ExecutionContext& context);

// The error of `output` against the float64 product of the inputs as given
// (float, or dequantized) plus bias.
absl::StatusOr<ErrorStats> ReferenceError(const MatMulJob& job, const WeightOperand& weights,
                                          const ActivationOperand& activations,
                                          std::span<const std::byte> output,
                                          const ExecutionContext& context);

}  // namespace quantd

#endif  // QUANTD_OPS_MATMUL_STEPS_H_
