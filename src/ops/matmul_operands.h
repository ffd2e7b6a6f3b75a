// The operands of a matmul as the kernels take them: the weights' spans and
// per-column parameters, the activations quantized, reordered and summed
// per span, and float views of both for the float paths (outliers, NF4, the
// reference product).
#ifndef QUANTD_OPS_MATMUL_OPERANDS_H_
#define QUANTD_OPS_MATMUL_OPERANDS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/execution.h"
#include "quantd/matmul.h"

namespace quantd {

// Which kernels multiply: integer 8-bit weights (S8 panels), 4-bit integer
// weights (U4 panels), or float32 (F32 panels, for NF4).
enum class WeightKind { kS8, kU4, kF32 };

// A run of k that one integer dot product sums exactly: inside one group of
// the weights' parameters and at most kMaxExactSpan long.
struct KSpan {
  int64_t k_begin = 0;
  int64_t k_count = 0;
  int64_t group = 0;
  int64_t steps = 0;          // Quads (S8), octets (U4), or k (F32).
  int64_t packed_offset = 0;  // Of the span's first step in a packed panel (bytes or floats).
  int64_t a_offset = 0;       // Of the span's first byte in an activation row.
};

// B with its parameters resolved per (group along K, column).
struct WeightOperand {
  WeightKind kind = WeightKind::kS8;
  TensorView b;  // As given, or the INT8 codes of a float B.
  bool k_contiguous = false;
  int64_t k = 0;
  int64_t n = 0;
  int64_t group_size = 0;  // Along K; k when one group.
  uint8_t xor_mask = 0;    // Packing: UINT8 -> w = b - 128; INT4 -> w = b + 8.
  // Read in place from the [N, K] source (gemm.h's direct path) rather
  // than packed: for a few rows, when the kernels have it.
  bool direct = false;
  std::vector<KSpan> spans;
  int64_t activation_bytes = 0;  // Of one activation row in the kernels' layout.
  int64_t panel_bytes = 0;  // One packed panel over every span (bytes, or floats for F32).
  // The scales and zero points of B's codes per slot: as given, or those
  // of a float B quantized per output channel. (group g, column n) has slot
  // g * param_group_stride + n * param_column_stride; its zero point in the
  // kernels' weight terms is zero_shift + the given one (or + 0 if none).
  // (For a float B the span points into quantized_scales: an operand is
  // moved, never copied.)
  std::span<const float> given_scales;
  std::span<const int32_t> given_zero_points;
  int64_t param_group_stride = 0;
  int64_t param_column_stride = 0;
  int32_t zero_shift = 0;
  // Packed path only (the direct one reads the given parameters in place):
  // the scale of (group, column) at [group * n + column], and its zero
  // point in the kernels' weight terms at [group * zero_group_stride +
  // column] (stride 0: one row for every group; empty: all zero).
  std::vector<double> scales;
  std::vector<double> zero_points;
  int64_t zero_group_stride = 0;
  std::vector<std::byte> quantized;  // Owns the INT8 codes of a float B,
  std::vector<float> quantized_scales;  // and their scales.
  TensorView original;  // B as the request gave it.
  SlotLayout layout;

  // B[k][n] as the float the product uses: the request's float, or the
  // dequantized weight.
  double Value(int64_t k, int64_t n) const;
};

// A as the kernels read it.
struct ActivationOperand {
  // Integer kinds: rows of lda bytes holding each span's steps, reordered
  // per octet for U4; F32: rows of k floats.
  std::vector<uint8_t> bytes;
  std::vector<float> floats;
  int64_t lda = 0;
  std::vector<double> row_scale;  // Per row.
  std::vector<double> row_zero;   // Per row, in the kernel operand's terms.
  std::vector<double> row_term;   // [span * m + row]: k_count · zero − Σ operand.
  TensorView original;            // A as the request gave it.
  std::vector<float> given_scales;  // Quantized A: per row (or one).
  std::vector<int32_t> given_zero_points;

  // A[m][k] as the float the product uses.
  double Value(int64_t m, int64_t k) const;
};

// Resolves B's spans and parameters; quantizes a float B per output channel.
// `direct` asks for the direct path where the weights allow it.
absl::StatusOr<WeightOperand> PrepareWeights(const MatMulJob& job, bool direct,
                                             const ExecutionContext& context);

// INVALID_ARGUMENT naming element i of the float tensor `t` as
// field.data[i] and its value: the message Quantize gives a non-finite
// input, for the inputs that matmul reads itself.
absl::Status NonFiniteElement(const TensorView& t, absl::string_view field, int64_t i);

// The columns of a float A that hold any |value| >= threshold, ascending.
// INVALID_ARGUMENT names the first NaN or Inf.
absl::StatusOr<std::vector<int64_t>> FindOutlierColumns(const MatMulJob& job);

// Quantizes a float A per row (outlier columns left out as zeros), or
// takes a quantized A as given, into the kernels' layout for `weights`.
absl::StatusOr<ActivationOperand> PrepareActivations(const MatMulJob& job,
                                                     const WeightOperand& weights,
                                                     const std::vector<int64_t>& outliers,
                                                     const ExecutionContext& context);

}  // namespace quantd

#endif  // QUANTD_OPS_MATMUL_OPERANDS_H_
