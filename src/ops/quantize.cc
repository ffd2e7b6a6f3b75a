// Quantize: checks and defaults (PrepareQuantize), then range, parameters
// and the quantizing pass (RunQuantize).
#include "quantd/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/enum_check.h"
#include "formats/element_format.h"
#include "formats/scalar_quantizer.h"
#include "kernels/kernels.h"
#include "kernels/slot_spans.h"
#include "ops/parallel.h"
#include "ops/quantize_steps.h"
#include "ops/range_selection.h"
#include "ops/scale_selection.h"
#include "ops/slot_statistics.h"
#include "ops/target.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

constexpr double kDefaultPercentile = 99.99;

bool IsLut(DType dtype) { return dtype == DType::kLut4 || dtype == DType::kLut8; }
bool IsCast(DType dtype) { return dtype == DType::kFloat16 || dtype == DType::kBFloat16; }

absl::Status CheckClipOptions(const QuantizeOptions& options) {
  for (const auto& [bound, name] : {std::pair{options.clip_min, "clip_min"},
                                    std::pair{options.clip_max, "clip_max"}}) {
    if (bound && !std::isfinite(*bound)) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.", name, " = ", *bound, " is not finite"));
    }
  }
  if (options.clip_min && options.clip_max && *options.clip_min > *options.clip_max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.clip_min = ", *options.clip_min, " is above options.clip_max = ",
        *options.clip_max));
  }
  return absl::OkStatus();
}

// The range method with its default applied, checked against the target.
absl::StatusOr<RangeMethod> ResolveRangeMethod(const QuantizeOptions& options,
                                               const ResolvedTarget& target) {
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(options.range_method),
                                         kMaxRangeMethodNumber, "options.range_method",
                                         "RangeMethod"));
  const DType dtype = target.params.dtype;
  const bool clipped = options.clip_min || options.clip_max;
  RangeMethod method = options.range_method;
  if (method == RangeMethod::kMovingAverageMinMax) {
    return absl::InvalidArgumentError(
        "options.range_method MOVING_AVERAGE_MINMAX needs a stream of batches: use Calibrate");
  }
  if (IsLut(dtype)) {
    if (clipped) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.clip_min and clip_max do not apply to ", DTypeName(dtype),
          ", whose codebook spans the data"));
    }
    if (method == RangeMethod::kUnspecified) return RangeMethod::kKMeans;
    if (method != RangeMethod::kKMeans && method != RangeMethod::kLog2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.range_method ", RangeMethodName(method), " cannot build a codebook for ",
          DTypeName(dtype), "; use KMEANS or LOG2"));
    }
    return method;
  }
  if (method == RangeMethod::kKMeans || method == RangeMethod::kLog2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.range_method ", RangeMethodName(method), " builds codebooks: it applies to ",
        "LUT4 and LUT8, not ", DTypeName(dtype)));
  }
  if (method != RangeMethod::kUnspecified) return method;
  if (dtype == DType::kTernary || dtype == DType::kBinary) return RangeMethod::kAbsMean;
  if (IsCast(dtype) && !clipped) return RangeMethod::kUnspecified;  // A plain cast.
  return target.params.scheme == Scheme::kSymmetric ? RangeMethod::kAbsMax : RangeMethod::kMinMax;
}

// Rounding with its default, checked against the target's kind.
absl::StatusOr<Rounding> ResolveRounding(Rounding rounding, const ElementFormat& format) {
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(rounding), kMaxRoundingNumber,
                                         "options.rounding", "Rounding"));
  if (rounding == Rounding::kUnspecified) return Rounding::kHalfToEven;
  const bool nearest_only =
      format.kind == ElementKind::kCodebook || format.kind == ElementKind::kBinary;
  if (nearest_only && rounding != Rounding::kHalfToEven) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.rounding ", RoundingName(rounding), " does not apply to ",
        DTypeName(format.dtype), ", which maps each value to its nearest level; use HALF_TO_EVEN"));
  }
  return rounding;
}

// Slot c's scale and, when the params have zero points, its zero point,
// from its range [lo, hi].
void SetSlotParams(int64_t c, float lo, float hi, const ScaleRule& rule, QuantParams* params) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(lo, hi, rule);
  params->scales[c] = sz.scale;
  if (!params->zero_points.empty()) params->zero_points[c] = sz.zero_point;
}

// Scales, zero points and codebooks of every slot from its range.
void ChooseParams(const QuantizeJob& job, const ElementFormat& format, const SlotRanges& ranges,
                  QuantParams* params) {
  const int64_t slots = job.layout.slots();
  const bool asymmetric = job.params.scheme == Scheme::kAsymmetric;
  const ScaleRule rule = ScaleRuleOf(job.params, format, job.qmin, job.qmax);
  params->scales.resize(slots);
  params->zero_points.resize(asymmetric ? slots : 0);
  for (int64_t c = 0; c < slots; ++c) SetSlotParams(c, ranges.lo[c], ranges.hi[c], rule, params);
  if (!IsLut(format.dtype)) return;
  const int k = format.codebook_size;
  if (job.range_method == RangeMethod::kLog2) {
    const std::vector<float> levels = Log2Levels(k);
    params->codebook.clear();
    for (int64_t c = 0; c < slots; ++c) params->codebook.insert(params->codebook.end(), levels.begin(), levels.end());
    return;
  }
  // KMEANS: centroids in units of the slot's scale.
  params->codebook.resize(slots * k);
  for (int64_t c = 0; c < slots; ++c) {
    for (int j = 0; j < k; ++j) {
      params->codebook[c * k + j] = ranges.centroids[c * k + j] / params->scales[c];
    }
  }
}

// The per-slot tables of codebook formats: levels and decision boundaries.
struct CodebookTables {
  std::vector<float> levels;
  std::vector<float> boundaries;
  int64_t stride = 0;
};

CodebookTables BuildCodebookTables(const ElementFormat& format, const QuantParams& params) {
  CodebookTables t;
  if (format.kind != ElementKind::kCodebook) return t;
  const int k = format.codebook_size;
  if (format.dtype == DType::kNF4) {
    t.levels.assign(kNF4Levels, kNF4Levels + 16);
  } else {
    t.levels = params.codebook;
    t.stride = k;
  }
  t.boundaries.resize(t.levels.size());
  for (size_t start = 0; start < t.levels.size(); start += k) {
    CodebookBoundaries(t.levels.data() + start, k, t.boundaries.data() + start);
  }
  return t;
}

}  // namespace

absl::StatusOr<QuantizeJob> PrepareQuantize(const TensorView& input,
                                            const QuantizeOptions& options) {
  QUANTD_RETURN_IF_ERROR(ValidateTensorLayout(input, "input").status());
  QUANTD_ASSIGN_OR_RETURN(QuantizeJob job, PrepareQuantizeShape(input.dtype, input.shape, options));
  job.input = input;
  return job;
}

absl::Status QuantizeSlice(const QuantizeJob& job, int64_t first, std::span<const std::byte> input,
                           std::span<std::byte> output, ErrorSums* sums,
                           const ExecutionContext& context) {
  const int64_t count = static_cast<int64_t>(input.size()) * 8 / DTypeBits(job.input.dtype);
  if (!job.params_given || first % kSliceAlignment != 0 || first < 0 || first + count > job.count ||
      static_cast<int64_t>(output.size()) != PackedByteSize(job.params.dtype, count)) {
    return absl::InternalError(absl::StrCat(
        "QuantizeSlice: a slice of ", count, " elements at ", first, " with ", output.size(),
        " output bytes does not fit a tensor of ", job.count, " elements",
        job.params_given ? "" : " without explicit parameters"));
  }
  return QuantizeRange(job, job.params, first, count, input, output, {}, sums, context);
}

absl::StatusOr<QuantizeJob> PrepareQuantizeShape(DType dtype, std::span<const int64_t> shape,
                                                 const QuantizeOptions& options) {
  QuantizeJob job;
  job.input = TensorView{dtype, shape, {}};
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(dtype), kMaxDTypeNumber,
                                         "input.dtype", "DType"));
  QUANTD_ASSIGN_OR_RETURN(job.count, ElementCount(shape, "input.shape"));
  const TensorView input = job.input;
  if (!IsFloatInputDType(input.dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input.dtype ", DTypeName(input.dtype),
        " cannot be quantized; Quantize takes FLOAT32, FLOAT16, BFLOAT16 or FLOAT64"));
  }
  job.seed = options.seed;
  job.return_dequantized = options.return_dequantized;

  ResolvedTarget target;
  if (options.params) {
    QUANTD_ASSIGN_OR_RETURN(target, ResolveTarget(*options.params, input.shape, job.count,
                                                  "options.params."));
    QUANTD_RETURN_IF_ERROR(CheckExplicitParams(*options.params, target, "options.params."));
    target.params.scales = options.params->scales;
    target.params.zero_points = options.params->zero_points;
    target.params.codebook = options.params->codebook;
    job.params_given = true;
  } else {
    QUANTD_ASSIGN_OR_RETURN(target, ResolveTarget(TargetSpec(options), input.shape,
                                                  job.count, "options."));
    QUANTD_RETURN_IF_ERROR(CheckClipOptions(options));
    QUANTD_ASSIGN_OR_RETURN(job.range_method, ResolveRangeMethod(options, target));
    if (!(options.percentile >= 0 && options.percentile <= 100)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.percentile = ", options.percentile, " is outside [0, 100]"));
    }
    job.percentile = options.percentile == 0 ? kDefaultPercentile : options.percentile;
    job.clip_min = options.clip_min;
    job.clip_max = options.clip_max;
  }
  QUANTD_ASSIGN_OR_RETURN(job.rounding, ResolveRounding(options.rounding, *target.format));
  job.params = std::move(target.params);
  job.layout = target.layout;
  job.qmin = target.qmin;
  job.qmax = target.qmax;
  job.output_bytes = PackedByteSize(job.params.dtype, job.count);
  job.dequantized_bytes =
      job.return_dequantized ? PackedByteSize(input.dtype, job.count) : 0;
  return job;
}

namespace {

SlotTensor TensorOf(const QuantizeJob& job) {
  return SlotTensor{FloatSource{job.input.dtype, job.input.data.data()}, job.count, job.layout};
}

}  // namespace

absl::StatusOr<QuantParams> ChooseQuantParams(const QuantizeJob& job,
                                              const std::vector<float>& mins,
                                              const std::vector<float>& maxs,
                                              const ExecutionContext& context) {
  const ElementFormat& format = *FindElementFormat(job.params.dtype);
  QuantParams params = job.params;
  if (job.range_method == RangeMethod::kUnspecified) {
    params.scales.assign(job.layout.slots(), 1.0f);  // A plain cast.
    return params;
  }
  QUANTD_ASSIGN_OR_RETURN(SlotRanges ranges,
                          SelectRanges(job, format, TensorOf(job), mins, maxs, context));
  ChooseParams(job, format, ranges, &params);
  return params;
}

namespace {

// The parameters as the kernels read them: per slot, 1 / scale and the
// zero points as floats, beside the codebook tables.
struct KernelParams {
  KernelParams(const ElementFormat& format, const QuantParams& params)
      : inv_scales(params.scales.size()),
        zero_points(params.zero_points.begin(), params.zero_points.end()),
        tables(BuildCodebookTables(format, params)) {
    SetScales(params, 0, static_cast<int64_t>(params.scales.size()));
  }
  // After params' slots [begin, end) were (re)set.
  void SetScales(const QuantParams& params, int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      inv_scales[c] = 1.0f / params.scales[c];
      if (!zero_points.empty()) zero_points[c] = static_cast<float>(params.zero_points[c]);
    }
  }
  std::vector<float> inv_scales;
  std::vector<float> zero_points;
  CodebookTables tables;
};

// The kernels' arguments for elements from `first` on; they point into
// params and kernel_params, which must outlive them.
QuantizeArgs ArgsFor(const QuantizeJob& job, const ElementFormat& format, const QuantParams& params,
                     const KernelParams& kernel_params, int64_t first,
                     std::span<const std::byte> input, std::span<std::byte> output,
                     std::span<std::byte> dequantized) {
  QuantizeArgs args;
  args.src = FloatSource{job.input.dtype, input.data()};
  args.format = &format;
  args.dst = output.data();
  args.deq_dtype = job.input.dtype;
  args.deq = dequantized.empty() ? nullptr : dequantized.data();
  args.params.scales = params.scales.data();
  args.params.inv_scales = kernel_params.inv_scales.data();
  args.params.zero_points =
      kernel_params.zero_points.empty() ? nullptr : kernel_params.zero_points.data();
  const CodebookTables& tables = kernel_params.tables;
  args.params.levels = tables.levels.empty() ? nullptr : tables.levels.data();
  args.params.boundaries = tables.boundaries.empty() ? nullptr : tables.boundaries.data();
  args.params.levels_stride = tables.stride;
  args.qmin = static_cast<float>(job.qmin);
  args.qmax = static_cast<float>(job.qmax);
  args.rounding = job.rounding;
  args.seed = job.seed;
  args.index_base = first;
  // Sub-byte codes are merged into their bytes: the padding of the last
  // byte starts at zero.
  if (!output.empty()) output.back() = std::byte{0};
  return args;
}

}  // namespace

absl::Status QuantizeRange(const QuantizeJob& job, const QuantParams& params, int64_t first,
                           int64_t count, std::span<const std::byte> input,
                           std::span<std::byte> output, std::span<std::byte> dequantized,
                           ErrorSums* sums, const ExecutionContext& context) {
  const ElementFormat& format = *FindElementFormat(job.params.dtype);
  const KernelTable& kernels = SelectKernels(context.max_isa);
  FirstNonFinite bad(count);
  const KernelParams kernel_params(format, params);
  const QuantizeArgs args =
      ArgsFor(job, format, params, kernel_params, first, input, output, dequantized);
  // Blocks are the tensor's own (first is a multiple of kBlockElements or
  // 0), and their sums are added in block order: the sums depend neither on
  // the pool's size nor on how the tensor was sliced.
  const int64_t first_block = first / kBlockElements;
  const int64_t blocks = count == 0 ? 0 : BlockCount(first + count) - first_block;
  std::vector<ErrorSums> block_sums(blocks);
  QUANTD_RETURN_IF_ERROR(RunBlocks(context, blocks, [&](int64_t b, int) {
    const int64_t begin = std::max(first, (first_block + b) * kBlockElements);
    const int64_t end = std::min(first + count, (first_block + b + 1) * kBlockElements);
    ForEachKernelSpan(job.layout, begin, end, [&](SlotSpan span) {
      span.start -= first;  // The kernels index the slice's own bytes.
      const int64_t index = kernels.quantize(args, span, &block_sums[b]);
      if (index >= 0) bad.Note(index);
      return index < 0;
    });
  }));
  if (bad.found()) return bad.Error(args.src, "input.data", first);
  for (const ErrorSums& b : block_sums) sums->Merge(b);
  return absl::OkStatus();
}

namespace {

absl::Status CheckOutputSizes(const QuantizeJob& job, std::span<std::byte> output,
                              std::span<std::byte> dequantized) {
  if (static_cast<int64_t>(output.size()) != job.output_bytes ||
      static_cast<int64_t>(dequantized.size()) != job.dequantized_bytes) {
    return absl::InternalError(absl::StrCat(
        "RunQuantize: output buffers of ", output.size(), " and ", dequantized.size(),
        " bytes, expected ", job.output_bytes, " and ", job.dequantized_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<QuantizeResult> QuantizeWithParams(const QuantizeJob& job, QuantParams params,
                                                  std::span<std::byte> output,
                                                  std::span<std::byte> dequantized,
                                                  const ExecutionContext& context) {
  QUANTD_RETURN_IF_ERROR(CheckOutputSizes(job, output, dequantized));
  ErrorSums sums;
  QUANTD_RETURN_IF_ERROR(QuantizeRange(
      job, params, 0, job.count, job.input.data, output,
      job.return_dequantized ? dequantized : std::span<std::byte>(), &sums, context));
  QuantizeResult result;
  result.params = std::move(params);
  result.error = FinishErrorStats(sums);
  return result;
}

namespace {

// Whether every slot lies whole inside one pool block, in consecutive
// elements (channels along the first axis, or whole groups along the last),
// and takes its range from its own minimum and maximum: then a block can
// observe its slots, choose their parameters and quantize them while its
// 256 KiB of float32 are still in the cache, one pass over memory instead
// of two.
bool QuantizesInOnePass(const QuantizeJob& job) {
  if (job.params_given || job.count == 0 || job.clip_min || job.clip_max) return false;
  if (job.range_method != RangeMethod::kMinMax && job.range_method != RangeMethod::kAbsMax) {
    return false;
  }
  const SlotLayout& layout = job.layout;
  int64_t slot_elements = 0;
  if (layout.group_size == 0 && layout.outer == 1) {
    slot_elements = layout.inner;
  } else if (layout.group_size > 0 && layout.inner == 1 && layout.axis_len % layout.group_size == 0) {
    slot_elements = layout.group_size;
  }
  return slot_elements > 0 && kBlockElements % slot_elements == 0;
}

// The next block's input, requested from memory while this block is
// quantized from the cache, in step with its progress: otherwise the next
// block's min/max pass waits on memory while the quantize pass left it
// idle. (With several workers the next block may be another's: then the
// lines are fetched once more, by a neighbour core's cache.)
class NextBlockPrefetch {
 public:
  NextBlockPrefetch(const QuantizeJob& job, int64_t begin, int64_t end)
      : first_(reinterpret_cast<const char*>(job.input.data.data()) +
               begin * DTypeBits(job.input.dtype) / 8),
        lines_(std::max<int64_t>(0, end - begin) * DTypeBits(job.input.dtype) / 8 / kLine) {}

  // Requests the first `fraction` of the block's lines not requested yet.
  void FetchUpTo(double fraction) {
    const int64_t target = std::min(lines_, static_cast<int64_t>(fraction * lines_));
    for (; fetched_ < target; ++fetched_) __builtin_prefetch(first_ + fetched_ * kLine, 0, 3);
  }

 private:
  static constexpr int64_t kLine = 64;
  const char* first_;
  int64_t lines_;
  int64_t fetched_ = 0;
};

// RunQuantize of such a job. The parameters, codes and error sums are those
// of the two passes: the same ranges, the same kernels on the same spans,
// the blocks' sums added in block order.
absl::StatusOr<QuantizeResult> QuantizeInOnePass(const QuantizeJob& job,
                                                 std::span<std::byte> output,
                                                 std::span<std::byte> dequantized,
                                                 const ExecutionContext& context) {
  const ElementFormat& format = *FindElementFormat(job.params.dtype);
  const KernelTable& kernels = SelectKernels(context.max_isa);
  const SlotTensor tensor = TensorOf(job);
  const int64_t slots = job.layout.slots();
  const bool asymmetric = job.params.scheme == Scheme::kAsymmetric;
  const ScaleRule rule = ScaleRuleOf(job.params, format, job.qmin, job.qmax);
  // Every block writes its own slots' entries, then reads only those.
  QuantParams params = job.params;
  params.scales.assign(slots, 1.0f);
  params.zero_points.assign(asymmetric ? slots : 0, 0);
  KernelParams kernel_params(format, params);
  const QuantizeArgs args = ArgsFor(job, format, params, kernel_params, 0, job.input.data, output,
                                    job.return_dequantized ? dequantized : std::span<std::byte>());
  std::vector<float> mins(slots, std::numeric_limits<float>::infinity());
  std::vector<float> maxs(slots, -std::numeric_limits<float>::infinity());
  FirstNonFinite bad(job.count);
  std::vector<ErrorSums> block_sums(BlockCount(job.count));
  QUANTD_RETURN_IF_ERROR(RunBlocks(context, BlockCount(job.count), [&](int64_t b, int) {
    const int64_t begin = b * kBlockElements, end = BlockEnd(job.count, b);
    bool finite = true;
    ForEachSlotSpan(job.layout, begin, end, [&](SlotSpan span) {
      const int64_t index = kernels.min_max(tensor.src, span, mins.data(), maxs.data());
      if (index >= 0) bad.Note(index);
      return finite = index < 0;
    });
    if (!finite) return;
    const int64_t first_slot = job.layout.SlotOf(begin), end_slot = job.layout.SlotOf(end - 1) + 1;
    for (int64_t c = first_slot; c < end_slot; ++c) {
      const auto [lo, hi] = MinMaxRange(job.range_method, mins[c], maxs[c]);
      SetSlotParams(c, lo, hi, rule, &params);
    }
    kernel_params.SetScales(params, first_slot, end_slot);
    NextBlockPrefetch ahead(job, end, BlockEnd(job.count, b + 1));
    ForEachKernelSpan(job.layout, begin, end, [&](SlotSpan span) {
      const int64_t index = kernels.quantize(args, span, &block_sums[b]);
      if (index >= 0) bad.Note(index);
      ahead.FetchUpTo(static_cast<double>(span.start + span.count - begin) / (end - begin));
      return index < 0;
    });
  }));
  if (bad.found()) return bad.Error(tensor.src);
  ErrorSums sums;
  for (const ErrorSums& b : block_sums) sums.Merge(b);
  QuantizeResult result;
  result.params = std::move(params);
  result.error = FinishErrorStats(sums);
  return result;
}

}  // namespace

absl::StatusOr<QuantizeResult> RunQuantize(const QuantizeJob& job,
                                           std::span<std::byte> output,
                                           std::span<std::byte> dequantized,
                                           const ExecutionContext& context) {
  // Before any pass over the tensor.
  QUANTD_RETURN_IF_ERROR(CheckOutputSizes(job, output, dequantized));
  if (QuantizesInOnePass(job)) return QuantizeInOnePass(job, output, dequantized, context);
  QuantParams params = job.params;
  if (!job.params_given) {
    // A plain cast needs no range; every other method starts from min/max,
    // a pass that also finds NaN and Inf.
    std::vector<float> mins, maxs;
    if (job.range_method != RangeMethod::kUnspecified) {
      FirstNonFinite bad(job.count);
      QUANTD_RETURN_IF_ERROR(ObserveMinMax(TensorOf(job), SelectKernels(context.max_isa),
                                           context, &bad, &mins, &maxs));
      if (bad.found()) return bad.Error(TensorOf(job).src);
    }
    QUANTD_ASSIGN_OR_RETURN(params, ChooseQuantParams(job, mins, maxs, context));
  }
  return QuantizeWithParams(job, std::move(params), output, dequantized, context);
}

absl::StatusOr<QuantizedTensor> Quantize(const TensorView& input,
                                         const QuantizeOptions& options,
                                         const ExecutionContext& context) {
  QUANTD_ASSIGN_OR_RETURN(QuantizeJob job, PrepareQuantize(input, options));
  QuantizedTensor out;
  out.data.resize(job.output_bytes);
  out.dequantized.resize(job.dequantized_bytes);
  QUANTD_ASSIGN_OR_RETURN(out.result, RunQuantize(job, out.data, out.dequantized, context));
  return out;
}

}  // namespace quantd
