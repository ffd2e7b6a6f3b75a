// QuantizedMatMul: the checks (PrepareMatMul) and the order of the passes
// (RunMatMul). The operands are made in matmul_operands.cc, multiplied in
// matmul_blocks.cc and measured in matmul_reference.cc.
#include "quantd/matmul.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/enum_check.h"
#include "formats/element_io.h"
#include "kernels/gemm.h"
#include "ops/matmul_operands.h"
#include "ops/matmul_steps.h"
#include "ops/target.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

bool IsQuantizedActivation(DType dtype) { return dtype == DType::kInt8 || dtype == DType::kUInt8; }

bool IsQuantizedWeight(DType dtype) {
  switch (dtype) {
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt4:
    case DType::kUInt4:
    case DType::kNF4: return true;
    default: return false;
  }
}

// A valid [rows, columns] tensor.
absl::Status CheckMatrix(const TensorView& t, absl::string_view field) {
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(t.dtype), kMaxDTypeNumber,
                                         absl::StrCat(field, ".dtype"), "DType"));
  QUANTD_RETURN_IF_ERROR(ValidateTensorLayout(t, field).status());
  if (t.shape.size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".shape has rank ", t.shape.size(),
                                                   "; a matmul operand is a matrix (rank 2)"));
  }
  return absl::OkStatus();
}

// Checks the parameters of a quantized operand; returns their layout.
absl::StatusOr<SlotLayout> CheckOperandParams(const TensorView& t,
                                              const std::optional<QuantParams>& params,
                                              absl::string_view field) {
  const std::string params_field = absl::StrCat(field, "_params");
  if (!params) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is quantized (", DTypeName(t.dtype),
                                                   "): ", params_field, " are required"));
  }
  QUANTD_ASSIGN_OR_RETURN(ResolvedTarget target,
                          ResolveTarget(*params, t.shape, t.shape[0] * t.shape[1],
                                        absl::StrCat(params_field, ".")));
  if (target.params.dtype != t.dtype) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".dtype ", DTypeName(t.dtype), " differs from ",
                                                   params_field, ".dtype ",
                                                   DTypeName(target.params.dtype)));
  }
  QUANTD_RETURN_IF_ERROR(CheckExplicitParams(*params, target, absl::StrCat(params_field, ".")));
  return target.layout;
}

absl::Status CheckActivations(const MatMulInputs& in) {
  QUANTD_RETURN_IF_ERROR(CheckMatrix(in.a, "a"));
  if (IsFloatInputDType(in.a.dtype)) {
    if (in.a_params) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a_params describe a quantized a, but a is ", DTypeName(in.a.dtype),
          " (a float a is quantized per row by the server)"));
    }
    return absl::OkStatus();
  }
  if (!IsQuantizedActivation(in.a.dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a.dtype ", DTypeName(in.a.dtype),
        " is not a matmul activation; use FLOAT32, FLOAT16, BFLOAT16, FLOAT64, INT8 or UINT8"));
  }
  QUANTD_RETURN_IF_ERROR(CheckOperandParams(in.a, in.a_params, "a").status());
  const QuantParams& p = *in.a_params;
  const bool per_row = p.granularity == Granularity::kPerChannel && (p.axis == 0 || p.axis == -2);
  if (p.granularity != Granularity::kPerTensor && !per_row) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a_params.granularity ", GranularityName(p.granularity), " (axis ", p.axis,
        ") is not supported: a's scale must be one per tensor or one per row (PER_CHANNEL, "
        "axis 0), since a scale that varies along K cannot leave the integer dot product"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SlotLayout> CheckWeights(const MatMulInputs& in, bool transpose_b) {
  QUANTD_RETURN_IF_ERROR(CheckMatrix(in.b, "b"));
  if (IsFloatInputDType(in.b.dtype)) {
    if (in.b_params) {
      return absl::InvalidArgumentError(absl::StrCat(
          "b_params describe a quantized b, but b is ", DTypeName(in.b.dtype),
          " (a float b is quantized per output channel by the server)"));
    }
    return SlotLayout{};
  }
  if (!IsQuantizedWeight(in.b.dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "b.dtype ", DTypeName(in.b.dtype),
        " is not a matmul weight; use a float type, INT8, UINT8, INT4, UINT4 or NF4"));
  }
  QUANTD_ASSIGN_OR_RETURN(SlotLayout layout, CheckOperandParams(in.b, in.b_params, "b"));
  const QuantParams& p = *in.b_params;
  const int32_t k_axis = transpose_b ? 1 : 0;
  const int32_t axis = p.axis < 0 ? p.axis + 2 : p.axis;
  const bool per_output_channel = p.granularity == Granularity::kPerChannel && axis != k_axis;
  const bool groups_along_k = p.granularity == Granularity::kPerGroup && axis == k_axis;
  if (p.granularity != Granularity::kPerTensor && !per_output_channel && !groups_along_k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "b_params.granularity ", GranularityName(p.granularity), " on axis ", p.axis,
        " is not supported: b's scales must be per tensor, per output channel (PER_CHANNEL, axis ",
        1 - k_axis, ") or per group along K (PER_GROUP, axis ", k_axis,
        "), so that one scale covers each run of k the integer dot product sums"));
  }
  return layout;
}

absl::Status CheckBias(const MatMulInputs& in, int64_t n) {
  if (!in.bias) return absl::OkStatus();
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(in.bias->dtype), kMaxDTypeNumber,
                                         "bias.dtype", "DType"));
  QUANTD_RETURN_IF_ERROR(ValidateTensorLayout(*in.bias, "bias").status());
  if (!IsFloatInputDType(in.bias->dtype)) {
    return absl::InvalidArgumentError(absl::StrCat("bias.dtype ", DTypeName(in.bias->dtype),
                                                   " is not a float type"));
  }
  if (in.bias->shape.size() != 1 || in.bias->shape[0] != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bias.shape must be [N] = [", n, "]; got rank ", in.bias->shape.size(),
        in.bias->shape.size() == 1 ? absl::StrCat(" with ", in.bias->shape[0], " elements") : ""));
  }
  return absl::OkStatus();
}

absl::StatusOr<DType> ResolveOutputDType(DType dtype) {
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(dtype), kMaxDTypeNumber,
                                         "output_dtype", "DType"));
  switch (dtype) {
    case DType::kUnspecified: return DType::kFloat32;
    case DType::kFloat32:
    case DType::kFloat16:
    case DType::kBFloat16: return dtype;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "output_dtype ", DTypeName(dtype),
          " is not a matmul output; use FLOAT32, FLOAT16 or BFLOAT16"));
  }
}

absl::Status CheckFinite(const std::optional<TensorView>& t, absl::string_view field) {
  if (!t) return absl::OkStatus();
  for (int64_t i = 0; i < t->shape[0]; ++i) {  // A checked vector.
    const double x = LoadFloatElement(t->dtype, t->data.data(), i);
    if (!std::isfinite(static_cast<float>(x))) return NonFiniteElement(*t, field, i);
  }
  return absl::OkStatus();
}

// The direct path (gemm.h) reads the weights in place, for a few rows of
// activations whose zero point is 0 as signed bytes; with more rows,
// packing the weights once pays for itself.
constexpr int64_t kDirectRows = 4;

bool UseDirectPath(const MatMulJob& job, const GemmKernels& kernels) {
  if (job.m > kDirectRows || kernels.rows_product_s8 == nullptr ||
      kernels.rows_product_u4 == nullptr) {
    return false;
  }
  const TensorView& a = job.inputs.a;
  if (IsFloatInputDType(a.dtype)) return true;
  const int32_t signed_zero = a.dtype == DType::kUInt8 ? 128 : 0;
  for (int32_t z : job.inputs.a_params->zero_points) {
    if (z != signed_zero) return false;
  }
  return a.dtype == DType::kInt8 || !job.inputs.a_params->zero_points.empty();
}

}  // namespace

absl::StatusOr<MatMulJob> PrepareMatMul(const MatMulInputs& inputs, const MatMulOptions& options) {
  MatMulJob job;
  job.inputs = inputs;
  job.options = options;
  // An unspecified granularity is PER_TENSOR (API.md's default), here as in
  // every other RPC; the checks and the kernels read the resolved value.
  for (std::optional<QuantParams>* params : {&job.inputs.a_params, &job.inputs.b_params}) {
    if (*params && (*params)->granularity == Granularity::kUnspecified) {
      (*params)->granularity = Granularity::kPerTensor;
    }
  }
  QUANTD_RETURN_IF_ERROR(CheckActivations(job.inputs));
  QUANTD_ASSIGN_OR_RETURN(job.b_layout, CheckWeights(job.inputs, options.transpose_b));
  job.m = inputs.a.shape[0];
  job.k = inputs.a.shape[1];
  const int k_axis = options.transpose_b ? 1 : 0;
  const int64_t b_k = inputs.b.shape[k_axis];
  job.n = inputs.b.shape[1 - k_axis];
  if (b_k != job.k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a.shape[1] = ", job.k, " (K) differs from b.shape[", k_axis, "] = ", b_k,
        options.transpose_b ? " (b is [N, K] with transpose_b)" : " (b is [K, N])"));
  }
  QUANTD_RETURN_IF_ERROR(CheckBias(inputs, job.n));
  if (!std::isfinite(options.outlier_threshold) || options.outlier_threshold < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "outlier_threshold = ", options.outlier_threshold, " must be finite and >= 0 (0 = off)"));
  }
  if (options.outlier_threshold > 0 && !IsFloatInputDType(inputs.a.dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "outlier_threshold = ", options.outlier_threshold, " needs a float a, but a is ",
        DTypeName(inputs.a.dtype), ": outlier columns are found among a's float values"));
  }
  QUANTD_ASSIGN_OR_RETURN(job.options.output_dtype, ResolveOutputDType(options.output_dtype));
  if (job.n != 0 && job.m > kMaxElements / job.n) {
    return absl::InvalidArgumentError(absl::StrCat("the output [", job.m, ", ", job.n,
                                                   "] would hold more than ", kMaxElements,
                                                   " elements"));
  }
  job.output_bytes = PackedByteSize(job.options.output_dtype, job.m * job.n);
  return job;
}

absl::StatusOr<MatMulResult> RunMatMul(const MatMulJob& job, std::span<std::byte> output,
                                       const ExecutionContext& context) {
  if (static_cast<int64_t>(output.size()) != job.output_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("the output buffer holds ", output.size(),
                                                   " bytes; the product needs ", job.output_bytes));
  }
  QUANTD_RETURN_IF_ERROR(CheckFinite(job.inputs.bias, "bias"));
  MatMulResult result;
  QUANTD_ASSIGN_OR_RETURN(const std::vector<int64_t> outliers, FindOutlierColumns(job));
  result.outlier_columns = static_cast<int64_t>(outliers.size());
  const GemmKernels& kernels = SelectGemmKernels(context.max_isa);
  QUANTD_ASSIGN_OR_RETURN(const WeightOperand weights,
                          PrepareWeights(job, UseDirectPath(job, kernels), context));
  QUANTD_ASSIGN_OR_RETURN(const ActivationOperand activations,
                          PrepareActivations(job, weights, outliers, context));
  QUANTD_RETURN_IF_ERROR(
      MultiplyBlocks(job, weights, activations, outliers, kernels, output, context));
  if (job.options.compute_reference_error) {
    QUANTD_ASSIGN_OR_RETURN(result.error,
                            ReferenceError(job, weights, activations, output, context));
  }
  return result;
}

absl::StatusOr<MatMulOutput> MatMul(const MatMulInputs& inputs, const MatMulOptions& options,
                                    const ExecutionContext& context) {
  QUANTD_ASSIGN_OR_RETURN(MatMulJob job, PrepareMatMul(inputs, options));
  MatMulOutput out;
  out.data.resize(job.output_bytes);
  QUANTD_ASSIGN_OR_RETURN(out.result, RunMatMul(job, out.data, context));
  return out;
}

}  // namespace quantd
