// The float64 product that compute_reference_error measures the result
// against (matmul_steps.h): the inputs as given, floats exactly and
// quantized operands dequantized, summed in k order.
#include <algorithm>

#include "formats/element_io.h"
#include "ops/matmul_steps.h"
#include "ops/parallel.h"

namespace quantd {
namespace {

// Columns per block: the block's weights as float64 stay near L2's size.
constexpr int64_t kReferenceColumns = 32;

}  // namespace

absl::StatusOr<ErrorStats> ReferenceError(const MatMulJob& job, const WeightOperand& weights,
                                          const ActivationOperand& activations,
                                          std::span<const std::byte> output,
                                          const ExecutionContext& context) {
  const int64_t blocks = (job.n + kReferenceColumns - 1) / kReferenceColumns;
  // One set of sums per block, merged in block order, so that the result
  // does not depend on which thread ran which block.
  std::vector<ErrorSums> sums(blocks);
  std::vector<std::vector<double>> scratch(WorkerCount(context));
  const std::optional<TensorView>& bias = job.inputs.bias;
  absl::Status status = RunBlocks(context, blocks, [&](int64_t block, int worker) {
    const int64_t n0 = block * kReferenceColumns;
    const int64_t columns = std::min(kReferenceColumns, job.n - n0);
    std::vector<double>& b = scratch[worker];
    b.resize(job.k * columns + columns);
    for (int64_t k = 0; k < job.k; ++k) {
      for (int64_t j = 0; j < columns; ++j) b[k * columns + j] = weights.Value(k, n0 + j);
    }
    double* y = b.data() + job.k * columns;
    for (int64_t m = 0; m < job.m; ++m) {
      for (int64_t j = 0; j < columns; ++j) {
        y[j] = bias ? LoadFloatElement(bias->dtype, bias->data.data(), n0 + j) : 0.0;
      }
      for (int64_t k = 0; k < job.k; ++k) {
        const double a = activations.Value(m, k);
        for (int64_t j = 0; j < columns; ++j) y[j] += a * b[k * columns + j];
      }
      for (int64_t j = 0; j < columns; ++j) {
        sums[block].Add(y[j], LoadFloatElement(job.options.output_dtype, output.data(),
                                               m * job.n + n0 + j));
      }
    }
  });
  if (!status.ok()) return status;
  ErrorSums total;
  for (const ErrorSums& s : sums) total.Merge(s);
  return FinishErrorStats(total);
}

}  // namespace quantd
