// Dequantize: checks (PrepareDequantize) and the dequantizing pass.
#include "quantd/dequantize.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/enum_check.h"
#include "kernels/slot_spans.h"
#include "kernels/kernels.h"
#include "ops/parallel.h"
#include "ops/target.h"
#include "quantd/status_macros.h"

namespace quantd {

absl::StatusOr<DequantizeJob> PrepareDequantize(const TensorView& input,
                                                const QuantParams& params,
                                                DType output_dtype) {
  QUANTD_RETURN_IF_ERROR(ValidateTensorLayout(input, "input").status());
  QUANTD_ASSIGN_OR_RETURN(DequantizeJob job,
                          PrepareDequantizeShape(input.dtype, input.shape, params, output_dtype));
  job.input = input;
  return job;
}

absl::StatusOr<DequantizeJob> PrepareDequantizeShape(DType dtype, std::span<const int64_t> shape,
                                                     const QuantParams& params,
                                                     DType output_dtype) {
  DequantizeJob job;
  job.input = TensorView{dtype, shape, {}};
  const TensorView input = job.input;
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(dtype), kMaxDTypeNumber,
                                         "input.dtype", "DType"));
  QUANTD_ASSIGN_OR_RETURN(job.count, ElementCount(shape, "input.shape"));
  QUANTD_ASSIGN_OR_RETURN(ResolvedTarget target,
                          ResolveTarget(params, input.shape, job.count, "params."));
  if (input.dtype != target.params.dtype) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input.dtype ", DTypeName(input.dtype), " differs from params.dtype ",
        DTypeName(target.params.dtype)));
  }
  QUANTD_RETURN_IF_ERROR(CheckExplicitParams(params, target, "params."));
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(output_dtype), kMaxDTypeNumber,
                                         "output_dtype", "DType"));
  switch (output_dtype) {
    case DType::kUnspecified:
      output_dtype = DType::kFloat32;
      break;
    case DType::kFloat32:
    case DType::kFloat16:
    case DType::kBFloat16:
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "output_dtype ", DTypeName(output_dtype),
          " is not a Dequantize output; use FLOAT32, FLOAT16 or BFLOAT16"));
  }
  job.params = std::move(target.params);
  job.params.scales = params.scales;
  job.params.zero_points = params.zero_points;
  job.params.codebook = params.codebook;
  job.layout = target.layout;
  job.output_dtype = output_dtype;
  job.output_bytes = PackedByteSize(output_dtype, job.count);
  return job;
}

namespace {

// Elements [first, first + count): `input` holds their codes, `output` x'.
absl::Status DequantizeRange(const DequantizeJob& job, int64_t first, int64_t count,
                             std::span<const std::byte> input, std::span<std::byte> output,
                             const ExecutionContext& context) {
  const KernelTable& kernels = SelectKernels(context.max_isa);
  const ElementFormat& format = *FindElementFormat(job.params.dtype);
  const std::vector<float> zero_points(job.params.zero_points.begin(),
                                       job.params.zero_points.end());
  // Codebook levels: NF4's fixed table for every slot, or one per slot.
  const bool nf4 = format.dtype == DType::kNF4;
  DequantizeArgs args;
  args.format = &format;
  args.src = input.data();
  args.dst_dtype = job.output_dtype;
  args.dst = output.data();
  args.params.scales = job.params.scales.data();
  args.params.zero_points = zero_points.empty() ? nullptr : zero_points.data();
  args.params.levels = nf4 ? kNF4Levels
                           : job.params.codebook.empty() ? nullptr : job.params.codebook.data();
  args.params.levels_stride = nf4 ? 0 : format.codebook_size;
  const int64_t first_block = first / kBlockElements;
  const int64_t blocks = count == 0 ? 0 : BlockCount(first + count) - first_block;
  return RunBlocks(context, blocks, [&](int64_t b, int) {
    const int64_t begin = std::max(first, (first_block + b) * kBlockElements);
    const int64_t end = std::min(first + count, (first_block + b + 1) * kBlockElements);
    ForEachKernelSpan(job.layout, begin, end, [&](SlotSpan span) {
      span.start -= first;  // The kernels index the slice's own bytes.
      kernels.dequantize(args, span);
      return true;
    });
  });
}

}  // namespace

absl::Status RunDequantize(const DequantizeJob& job, std::span<std::byte> output,
                           const ExecutionContext& context) {
  if (static_cast<int64_t>(output.size()) != job.output_bytes) {
    return absl::InternalError(absl::StrCat("RunDequantize: output buffer of ", output.size(),
                                            " bytes, expected ", job.output_bytes));
  }
  return DequantizeRange(job, 0, job.count, job.input.data, output, context);
}

absl::Status DequantizeSlice(const DequantizeJob& job, int64_t first, int64_t count,
                             std::span<const std::byte> input, std::span<std::byte> output,
                             const ExecutionContext& context) {
  if (first % kSliceAlignment != 0 || first < 0 || count < 0 || first + count > job.count ||
      static_cast<int64_t>(input.size()) != PackedByteSize(job.params.dtype, count) ||
      static_cast<int64_t>(output.size()) != PackedByteSize(job.output_dtype, count)) {
    return absl::InternalError(absl::StrCat("DequantizeSlice: a slice of ", count,
                                            " elements at ", first, " does not fit a tensor of ",
                                            job.count, " elements"));
  }
  return DequantizeRange(job, first, count, input, output, context);
}

absl::StatusOr<std::vector<std::byte>> Dequantize(const TensorView& input,
                                                  const QuantParams& params,
                                                  DType output_dtype,
                                                  const ExecutionContext& context) {
  QUANTD_ASSIGN_OR_RETURN(DequantizeJob job, PrepareDequantize(input, params, output_dtype));
  std::vector<std::byte> out(job.output_bytes);
  QUANTD_RETURN_IF_ERROR(RunDequantize(job, out, context));
  return out;
}

}  // namespace quantd
