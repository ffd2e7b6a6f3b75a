// QuantizedMatMul: Y[M, N] = A[M, K] · B[K, N] (+ bias[N]) with the
// operands in 8 or 4 bits and the products summed exactly in integers.
//
// Float operands are quantized on the fly: A per row, B per output channel,
// both symmetric INT8 with the absmax range and half-to-even rounding.
// Quantized operands come with their parameters: A as INT8 or UINT8 per
// tensor or per row; B as INT8, UINT8, INT4, UINT4 or NF4 per tensor, per
// output channel, or per group along K (the 4-bit weight-only layouts).
// Integer weights run on the integer kernels (A quantized to 8 bits); NF4
// weights, whose levels are not integers, multiply a float A in float32.
//
// LLM.int8(): with an outlier threshold, the columns of a float A holding
// any |value| >= threshold are left out of the integer product and multiply
// B's matching rows (float, or dequantized) in float64 instead.
#ifndef QUANTD_MATMUL_H_
#define QUANTD_MATMUL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/error_stats.h"
#include "quantd/execution.h"
#include "quantd/layout.h"
#include "quantd/quant_params.h"
#include "quantd/tensor.h"

namespace quantd {

struct MatMulInputs {
  TensorView a;                         // [M, K]
  std::optional<QuantParams> a_params;  // Required when a is quantized.
  TensorView b;                         // [K, N], or [N, K] with transpose_b.
  std::optional<QuantParams> b_params;  // Required when b is quantized.
  std::optional<TensorView> bias;       // Float [N].
};

struct MatMulOptions {
  bool transpose_b = false;
  float outlier_threshold = 0;  // 0: off.
  DType output_dtype = DType::kUnspecified;  // FLOAT32 (unspecified), BFLOAT16, FLOAT16.
  bool compute_reference_error = false;
};

// A checked matmul. Built by PrepareMatMul; holds views of the inputs,
// which must outlive it.
struct MatMulJob {
  MatMulInputs inputs;  // Parameters validated, axes normalized.
  MatMulOptions options;  // output_dtype resolved.
  int64_t m = 0;
  int64_t k = 0;
  int64_t n = 0;
  SlotLayout b_layout;  // Of a quantized b's parameters.
  int64_t output_bytes = 0;
};

// Checks shapes, dtypes and parameters; reads no element. INVALID_ARGUMENT
// names the field and the numbers.
absl::StatusOr<MatMulJob> PrepareMatMul(const MatMulInputs& inputs, const MatMulOptions& options);

struct MatMulResult {
  int64_t outlier_columns = 0;
  std::optional<ErrorStats> error;  // When compute_reference_error was asked.
};

// Runs a prepared job into `output` ([M, N] in the output dtype, exactly
// job.output_bytes). INVALID_ARGUMENT on NaN or Inf in a float input,
// CANCELLED when the context says so. The result does not depend on the
// pool's size or the kernel level.
absl::StatusOr<MatMulResult> RunMatMul(const MatMulJob& job, std::span<std::byte> output,
                                       const ExecutionContext& context = {});

// Both steps with an owned output.
struct MatMulOutput {
  std::vector<std::byte> data;
  MatMulResult result;
};
absl::StatusOr<MatMulOutput> MatMul(const MatMulInputs& inputs, const MatMulOptions& options,
                                    const ExecutionContext& context = {});

}  // namespace quantd

#endif  // QUANTD_MATMUL_H_
