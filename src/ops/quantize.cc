// Quantize: checks and defaults (PrepareQuantize), then range, parameters
// and the quantizing pass (RunQuantize).
#include "quantd/quantize.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "formats/element_io.h"
#include "core/enum_check.h"
#include "kernels/channel_spans.h"
#include "kernels/int_kernels.h"
#include "ops/parallel.h"
#include "ops/scale_selection.h"
#include "ops/target.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

absl::Status CheckRangeOptions(const QuantizeOptions& options) {
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(options.range_method),
                                         kMaxRangeMethodNumber, "options.range_method",
                                         "RangeMethod"));
  switch (options.range_method) {
    case RangeMethod::kUnspecified:
    case RangeMethod::kMinMax:
    case RangeMethod::kAbsMax:
      break;
    case RangeMethod::kMovingAverageMinMax:
      return absl::InvalidArgumentError(
          "options.range_method MOVING_AVERAGE_MINMAX needs a stream of batches: use Calibrate");
    default:
      return absl::UnimplementedError(absl::StrCat(
          "options.range_method ", RangeMethodName(options.range_method),
          " is not implemented yet (MINMAX and ABSMAX are)"));
  }
  if (!(options.percentile >= 0 && options.percentile <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.percentile = ", options.percentile, " is outside [0, 100]"));
  }
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

absl::StatusOr<Rounding> ResolveRounding(Rounding rounding) {
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(rounding), kMaxRoundingNumber,
                                         "options.rounding", "Rounding"));
  if (rounding == Rounding::kStochastic) {
    return absl::UnimplementedError(
        "options.rounding STOCHASTIC is not implemented yet (HALF_TO_EVEN, "
        "HALF_AWAY_FROM_ZERO and FLOOR are)");
  }
  return rounding == Rounding::kUnspecified ? Rounding::kHalfToEven : rounding;
}

// The options' target fields as a parameter spec for ResolveTarget.
QuantParams TargetSpec(const QuantizeOptions& options) {
  QuantParams spec;
  spec.dtype = options.dtype;
  spec.scheme = options.scheme;
  spec.granularity = options.granularity;
  spec.axis = options.axis;
  spec.group_size = options.group_size;
  spec.full_range = options.full_range;
  spec.scale_dtype = options.scale_dtype;
  return spec;
}

// The clipping range of one channel from its observed min and max.
std::pair<float, float> ClipRange(const QuantizeJob& job, float min, float max) {
  float lo = min, hi = max;
  if (job.range_method == RangeMethod::kAbsMax) {
    const float amax = std::max(std::fabs(min), std::fabs(max));
    lo = -amax;
    hi = amax;
  }
  if (job.clip_min) lo = *job.clip_min;
  if (job.clip_max) hi = *job.clip_max;
  return {lo, hi};
}

// The lowest flat index at which any block met a NaN or Inf.
class FirstNonFinite {
 public:
  explicit FirstNonFinite(int64_t none) : none_(none), index_(none) {}

  void Note(int64_t index) {
    for (int64_t seen = index_.load(); index < seen && !index_.compare_exchange_weak(seen, index);) {
    }
  }
  bool found() const { return index_.load() < none_; }
  absl::Status Error(FloatSource src) const {
    const int64_t i = index_.load();
    return absl::InvalidArgumentError(absl::StrCat(
        "input.data[", i, "] = ", LoadFloatElement(src.dtype, src.data, i),
        " is not a finite float32; Quantize takes finite values only"));
  }

 private:
  const int64_t none_;
  std::atomic<int64_t> index_;
};

// Pass 1: the minimum and maximum of every channel, which also finds NaN
// and Inf. Each worker folds into its own minima and maxima; min and max do
// not depend on order.
absl::Status ObserveRanges(const QuantizeJob& job, const IntKernelTable& kernels,
                           const ExecutionContext& context, FirstNonFinite* bad,
                           std::vector<float>* mins, std::vector<float>* maxs) {
  const FloatSource src{job.input.dtype, job.input.data.data()};
  const int64_t channels = job.layout.channels;
  const int workers = WorkerCount(context);
  mins->assign(workers * channels, std::numeric_limits<float>::infinity());
  maxs->assign(workers * channels, -std::numeric_limits<float>::infinity());
  QUANTD_RETURN_IF_ERROR(RunBlocks(context, BlockCount(job.count), [&](int64_t block, int worker) {
    float* worker_mins = mins->data() + worker * channels;
    float* worker_maxs = maxs->data() + worker * channels;
    ForEachChannelSpan(job.layout, block * kBlockElements, BlockEnd(job.count, block), [&](ChannelSpan span) {
      const int64_t index = kernels.min_max(src, span, worker_mins, worker_maxs);
      if (index >= 0) bad->Note(index);
      return index < 0;
    });
  }));
  for (int w = 1; w < workers; ++w) {
    for (int64_t c = 0; c < channels; ++c) {
      (*mins)[c] = std::min((*mins)[c], (*mins)[w * channels + c]);
      (*maxs)[c] = std::max((*maxs)[c], (*maxs)[w * channels + c]);
    }
  }
  mins->resize(channels);
  maxs->resize(channels);
  return absl::OkStatus();
}

// Scales and zero points of every channel from its observed range.
void ChooseParams(const QuantizeJob& job, const std::vector<float>& mins,
                  const std::vector<float>& maxs, QuantParams* params) {
  const int64_t channels = job.layout.channels;
  const bool asymmetric = job.params.scheme == Scheme::kAsymmetric;
  params->scales.resize(channels);
  params->zero_points.resize(asymmetric ? channels : 0);
  for (int64_t c = 0; c < channels; ++c) {
    // An empty channel has no range: it gets the zero range's parameters.
    const auto [lo, hi] = mins[c] <= maxs[c] ? ClipRange(job, mins[c], maxs[c]) : ClipRange(job, 0, 0);
    const ScaleZeroPoint sz = ChooseScaleZeroPoint(lo, hi, job.params.scheme,
                                                   /*is_unsigned=*/job.qmin == 0,
                                                   job.params.full_range, job.qmin, job.qmax);
    params->scales[c] = sz.scale;
    if (asymmetric) params->zero_points[c] = sz.zero_point;
  }
}

}  // namespace

absl::StatusOr<QuantizeJob> PrepareQuantize(const TensorView& input,
                                            const QuantizeOptions& options) {
  QuantizeJob job;
  job.input = input;
  QUANTD_ASSIGN_OR_RETURN(job.count, ValidateTensorLayout(input, "input"));
  if (!IsFloatInputDType(input.dtype)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input.dtype ", DTypeName(input.dtype),
        " cannot be quantized; Quantize takes FLOAT32, FLOAT16, BFLOAT16 or FLOAT64"));
  }
  QUANTD_ASSIGN_OR_RETURN(job.rounding, ResolveRounding(options.rounding));
  job.seed = options.seed;
  job.return_dequantized = options.return_dequantized;

  ResolvedTarget target;
  if (options.params) {
    QUANTD_ASSIGN_OR_RETURN(target, ResolveTarget(*options.params, input.shape, job.count,
                                                  "options.params."));
    QUANTD_RETURN_IF_ERROR(
        CheckScalesAndZeroPoints(*options.params, target, "options.params."));
    target.params.scales = options.params->scales;
    target.params.zero_points = options.params->zero_points;
    job.params_given = true;
  } else {
    QUANTD_ASSIGN_OR_RETURN(target, ResolveTarget(TargetSpec(options), input.shape,
                                                  job.count, "options."));
    QUANTD_RETURN_IF_ERROR(CheckRangeOptions(options));
    job.range_method = options.range_method;
    if (job.range_method == RangeMethod::kUnspecified) {
      job.range_method = target.params.scheme == Scheme::kSymmetric ? RangeMethod::kAbsMax
                                                                     : RangeMethod::kMinMax;
    }
    job.clip_min = options.clip_min;
    job.clip_max = options.clip_max;
  }
  job.params = std::move(target.params);
  job.layout = target.layout;
  job.qmin = target.qmin;
  job.qmax = target.qmax;
  job.output_bytes = PackedByteSize(job.params.dtype, job.count);
  job.dequantized_bytes =
      job.return_dequantized ? PackedByteSize(input.dtype, job.count) : 0;
  return job;
}

absl::StatusOr<QuantizeResult> RunQuantize(const QuantizeJob& job,
                                           std::span<std::byte> output,
                                           std::span<std::byte> dequantized,
                                           const ExecutionContext& context) {
  if (static_cast<int64_t>(output.size()) != job.output_bytes ||
      static_cast<int64_t>(dequantized.size()) != job.dequantized_bytes) {
    return absl::InternalError(absl::StrCat(
        "RunQuantize: output buffers of ", output.size(), " and ", dequantized.size(),
        " bytes, expected ", job.output_bytes, " and ", job.dequantized_bytes));
  }
  const IntKernelTable& kernels = SelectIntKernels(context.max_isa);
  const FloatSource src{job.input.dtype, job.input.data.data()};
  const int64_t channels = job.layout.channels;
  FirstNonFinite bad(job.count);

  QuantizeResult result;
  result.params = job.params;
  if (!job.params_given) {
    std::vector<float> mins, maxs;
    QUANTD_RETURN_IF_ERROR(ObserveRanges(job, kernels, context, &bad, &mins, &maxs));
    if (bad.found()) return bad.Error(src);
    ChooseParams(job, mins, maxs, &result.params);
  }

  // Pass 2: quantize, with the error sums and (for given parameters) the
  // finiteness check fused in. Sums are kept per block and added in block
  // order, so they do not depend on the pool's size.
  std::vector<float> inv_scales(channels);
  for (int64_t c = 0; c < channels; ++c) inv_scales[c] = 1.0f / result.params.scales[c];
  const std::vector<float> zero_points(result.params.zero_points.begin(),
                                       result.params.zero_points.end());
  IntQuantizeArgs args;
  args.src = src;
  args.dst_dtype = job.params.dtype;
  args.dst = output.data();
  args.deq_dtype = job.input.dtype;
  args.deq = job.return_dequantized ? dequantized.data() : nullptr;
  args.params.scales = result.params.scales.data();
  args.params.inv_scales = inv_scales.data();
  args.params.zero_points = zero_points.empty() ? nullptr : zero_points.data();
  args.qmin = static_cast<float>(job.qmin);
  args.qmax = static_cast<float>(job.qmax);
  args.rounding = job.rounding;
  std::vector<ErrorSums> block_sums(BlockCount(job.count));
  QUANTD_RETURN_IF_ERROR(RunBlocks(context, BlockCount(job.count), [&](int64_t block, int) {
    ForEachChannelSpan(job.layout, block * kBlockElements, BlockEnd(job.count, block), [&](ChannelSpan span) {
      const int64_t index = kernels.quantize(args, span, &block_sums[block]);
      if (index >= 0) bad.Note(index);
      return index < 0;
    });
  }));
  if (bad.found()) return bad.Error(src);
  ErrorSums sums;
  for (const ErrorSums& b : block_sums) sums.Merge(b);
  result.error = FinishErrorStats(sums);
  return result;
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
