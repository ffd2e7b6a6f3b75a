// Calibrate: streaming observers with mergeable state.
#include "quantd/calibrate.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/enum_check.h"
#include "formats/element_io.h"
#include "kernels/kernels.h"
#include "kernels/slot_spans.h"
#include "ops/fine_histogram.h"
#include "ops/histogram_observer.h"
#include "ops/parallel.h"
#include "ops/range_selection.h"
#include "ops/scale_selection.h"
#include "ops/slot_statistics.h"
#include "ops/target.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

constexpr int32_t kDefaultBins = 2048;
constexpr int32_t kMaxBins = 1 << 16;
constexpr double kDefaultPercentile = 99.99;
constexpr double kDefaultAveragingConstant = 0.01;
// Histogram cells (slots x fine bins) one calibration may hold: 128 MiB of
// counts. A batch's observation copies them and each worker counts into
// its own, so without a bound a small batch claiming many slots (an empty
// one may claim 65536) would make the server allocate gigabytes.
constexpr int64_t kMaxHistogramCells = int64_t{1} << 24;
// More values or batches than any stream could see. States claiming more
// are refused, so merged counts and their sums never overflow.
constexpr int64_t kMaxCount = int64_t{1} << 62;

// Fine bins per histogram: a power of two, at least four per coarse bin on
// each side of zero, so that re-binning stays within one coarse bin.
int64_t FineBins(int32_t num_bins) { return int64_t{4} * std::bit_ceil(static_cast<uint32_t>(num_bins)); }

QuantParams TargetSpec(const CalibrateOptions& o) {
  QuantParams spec;
  spec.dtype = o.dtype;
  spec.scheme = o.scheme;
  spec.granularity = o.granularity;
  spec.axis = o.axis;
  spec.group_size = o.group_size;
  spec.full_range = o.full_range;
  spec.scale_dtype = o.scale_dtype;
  return spec;
}

// The sizes that define a layout's slots, in API.md's scale order.
std::vector<int64_t> SlotShape(const SlotLayout& layout, Granularity granularity) {
  switch (granularity) {
    case Granularity::kPerChannel: return {layout.axis_len};
    case Granularity::kPerGroup: return {layout.outer, layout.blocks(), layout.inner};
    default: return {};
  }
}

// Whether `slot_shape` (as SlotShape writes it for `granularity`) makes
// exactly `slots` slots.
bool SlotShapeMakes(const std::vector<int64_t>& slot_shape, Granularity granularity,
                    int64_t slots) {
  const size_t rank = granularity == Granularity::kPerChannel ? 1
                      : granularity == Granularity::kPerGroup ? 3
                                                              : 0;
  if (slot_shape.size() != rank) return false;
  int64_t product = 1;
  for (int64_t d : slot_shape) {
    if (d < 0 || (d != 0 && product > slots / d)) return false;
    product *= d;
  }
  return product == slots;
}

// Whether every count is non-negative and they add up to at most `total`.
bool CountsWithin(const std::vector<int64_t>& counts, int64_t total) {
  int64_t sum = 0;
  for (int64_t c : counts) {
    if (c < 0 || c > total - sum) return false;
    sum += c;
  }
  return true;
}

absl::Status WithBatch(int64_t index, absl::Status status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("batch ", index, ": ", status.message()));
}

}  // namespace

absl::StatusOr<Calibrator> Calibrator::Create(const CalibrateOptions& given) {
  CalibrateOptions o = given;
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(o.method), kMaxRangeMethodNumber,
                                         "options.method", "RangeMethod"));
  switch (o.method) {
    case RangeMethod::kUnspecified:
      o.method = RangeMethod::kMinMax;
      break;
    case RangeMethod::kMinMax:
    case RangeMethod::kMovingAverageMinMax:
    case RangeMethod::kPercentile:
    case RangeMethod::kEntropy:
    case RangeMethod::kMse:
    case RangeMethod::kAbsMax:
    case RangeMethod::kAbsMean:
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "options.method ", RangeMethodName(o.method),
          " is not a calibration method (MINMAX, MOVING_AVERAGE_MINMAX, PERCENTILE, ENTROPY, MSE, "
          "ABSMAX, ABSMEAN)"));
  }
  // The target's own checks, on a one-element stand-in (axes are checked
  // against each batch).
  QuantParams spec = TargetSpec(o);
  spec.granularity = Granularity::kPerTensor;
  const int64_t one = 1;
  QUANTD_ASSIGN_OR_RETURN(ResolvedTarget target,
                          ResolveTarget(spec, std::span<const int64_t>(&one, 1), 1, "options."));
  if (target.format->kind == ElementKind::kCodebook && o.dtype != DType::kNF4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.dtype ", DTypeName(o.dtype), " needs a codebook, which Calibrate does not build; "
        "use Quantize with range_method KMEANS or LOG2"));
  }
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(o.granularity), kMaxGranularityNumber,
                                         "options.granularity", "Granularity"));
  o.scheme = target.params.scheme;
  o.scale_dtype = target.params.scale_dtype;
  if (o.granularity == Granularity::kUnspecified) o.granularity = Granularity::kPerTensor;
  if (o.granularity == Granularity::kPerGroup && o.group_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.group_size = ", o.group_size, " must be positive for PER_GROUP"));
  }
  if (o.num_bins == 0) o.num_bins = kDefaultBins;
  if (o.num_bins < 16 || o.num_bins > kMaxBins) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.num_bins = ", o.num_bins, " is outside [16, ", kMaxBins, "]"));
  }
  if (o.percentile == 0) o.percentile = kDefaultPercentile;
  if (!(o.percentile > 0 && o.percentile <= 100)) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.percentile = ", o.percentile, " is outside (0, 100]"));
  }
  if (o.averaging_constant == 0) o.averaging_constant = kDefaultAveragingConstant;
  if (!(o.averaging_constant > 0 && o.averaging_constant <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.averaging_constant = ", o.averaging_constant, " is outside (0, 1]"));
  }
  CalibrationState state;
  state.options = o;
  return Calibrator(std::move(state));
}

bool Calibrator::uses_histograms() const {
  switch (state_.options.method) {
    case RangeMethod::kPercentile:
    case RangeMethod::kEntropy:
    case RangeMethod::kMse:
    case RangeMethod::kAbsMean:
      return true;
    default:
      return false;
  }
}

absl::Status Calibrator::AdoptSlots(std::vector<int64_t> slot_shape, int64_t slots,
                                    absl::string_view what) {
  if (state_.batches_seen == 0 && state_.observed_min.empty()) {
    const int64_t bins = FineBins(state_.options.num_bins);
    if (uses_histograms() && slots > kMaxHistogramCells / bins) {
      return absl::ResourceExhaustedError(absl::StrCat(
          what, " has ", slots, " parameter slots [", absl::StrJoin(slot_shape, ", "),
          "]: their histograms of ", bins, " bins (num_bins = ", state_.options.num_bins,
          ") would hold more than the limit of ", kMaxHistogramCells,
          " counts; lower num_bins or use a coarser granularity"));
    }
    state_.slot_shape = std::move(slot_shape);
    state_.observed_min.assign(slots, std::numeric_limits<float>::infinity());
    state_.observed_max.assign(slots, -std::numeric_limits<float>::infinity());
    if (uses_histograms()) {
      state_.histograms.assign(slots, {FineHistogram::kNoRange,
                                       std::vector<int64_t>(FineBins(state_.options.num_bins), 0)});
    }
    return absl::OkStatus();
  }
  if (slot_shape != state_.slot_shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " has parameter slots [", absl::StrJoin(slot_shape, ", "), "] (",
        GranularityName(state_.options.granularity), "), but the calibration so far has [",
        absl::StrJoin(state_.slot_shape, ", "), "]; the channel axis must keep its length"));
  }
  return absl::OkStatus();
}

absl::Status Calibrator::AddBatch(const TensorView& batch, int64_t index,
                                  const ExecutionContext& context) {
  auto count = ValidateTensorLayout(batch, "batch");
  if (!count.ok()) return WithBatch(index, count.status());
  if (!IsFloatInputDType(batch.dtype)) {
    return WithBatch(index, absl::InvalidArgumentError(absl::StrCat(
                                "batch.dtype ", DTypeName(batch.dtype),
                                " is not a float type (FLOAT32, FLOAT16, BFLOAT16 or FLOAT64)")));
  }
  auto target = ResolveTarget(TargetSpec(state_.options), batch.shape, *count, "options.");
  if (!target.ok()) return WithBatch(index, target.status());
  const SlotLayout& layout = target->layout;
  QUANTD_RETURN_IF_ERROR(WithBatch(
      index, AdoptSlots(SlotShape(layout, state_.options.granularity), layout.slots(), "it")));
  state_.resolved_axis = target->params.axis;
  ++state_.batches_seen;
  if (*count == 0) return absl::OkStatus();

  const SlotTensor tensor{FloatSource{batch.dtype, batch.data.data()}, *count, layout};
  const int64_t slots = layout.slots();
  std::vector<float> mins, maxs;
  FirstNonFinite bad(*count);
  std::vector<FineHistogram> hists;
  if (uses_histograms()) {
    // Copies, so that a bad batch leaves the state as it was.
    for (const CalibrationHistogram& h : state_.histograms) hists.emplace_back(h.range_exponent, h.counts);
    QUANTD_RETURN_IF_ERROR(ObserveIntoHistograms(tensor, context, &bad, &hists, &mins, &maxs));
  } else {
    QUANTD_RETURN_IF_ERROR(
        ObserveMinMax(tensor, SelectKernels(context.max_isa), context, &bad, &mins, &maxs));
  }
  if (bad.found()) return WithBatch(index, bad.Error(tensor.src, "batch.data"));

  if (state_.options.method == RangeMethod::kMovingAverageMinMax) {
    // As torch.ao's MovingAverage observers, in float32: the first batch
    // sets the range, each later one moves it by c times the difference.
    const float c = static_cast<float>(state_.options.averaging_constant);
    for (int64_t s = 0; s < slots; ++s) {
      float& lo = state_.observed_min[s];
      float& hi = state_.observed_max[s];
      if (lo > hi) {
        lo = mins[s];
        hi = maxs[s];
      } else {
        lo = lo + c * (mins[s] - lo);
        hi = hi + c * (maxs[s] - hi);
      }
    }
  } else {
    for (int64_t s = 0; s < slots; ++s) {
      state_.observed_min[s] = std::min(state_.observed_min[s], mins[s]);
      state_.observed_max[s] = std::max(state_.observed_max[s], maxs[s]);
    }
  }
  for (int64_t s = 0; s < static_cast<int64_t>(hists.size()); ++s) {
    state_.histograms[s] = {hists[s].range_exponent(), hists[s].counts()};
  }
  state_.values_seen += *count;
  return absl::OkStatus();
}

absl::Status Calibrator::Merge(const CalibrationState& other, int64_t index) {
  const std::string what = absl::StrCat("options.merge[", index, "]");
  if (state_.options.method == RangeMethod::kMovingAverageMinMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": MOVING_AVERAGE_MINMAX depends on the order of batches and cannot be merged"));
  }
  if (!(other.options == state_.options)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " was made with method ", RangeMethodName(other.options.method), ", dtype ",
        DTypeName(other.options.dtype), ", granularity ", GranularityName(other.options.granularity),
        " and other settings that differ from this stream's (method ",
        RangeMethodName(state_.options.method), ", dtype ", DTypeName(state_.options.dtype),
        ", granularity ", GranularityName(state_.options.granularity), ")"));
  }
  if (other.values_seen == 0 && other.batches_seen == 0 && other.observed_min.empty()) {
    return absl::OkStatus();  // Nothing observed.
  }
  const size_t slots = other.observed_min.size();
  const int64_t bins = FineBins(state_.options.num_bins);
  bool consistent = other.observed_max.size() == slots && slots > 0 &&
                    other.histograms.size() == (uses_histograms() ? slots : 0) &&
                    SlotShapeMakes(other.slot_shape, state_.options.granularity,
                                   static_cast<int64_t>(slots)) &&
                    other.values_seen >= 0 && other.values_seen <= kMaxCount &&
                    other.batches_seen >= 0 && other.batches_seen <= kMaxCount;
  for (const CalibrationHistogram& h : other.histograms) {
    const bool range_ok = h.range_exponent == FineHistogram::kNoRange ||
                          (h.range_exponent >= FineHistogram::kMinRangeExponent &&
                           h.range_exponent <= 130);
    consistent = consistent && static_cast<int64_t>(h.counts.size()) == bins && range_ok &&
                 CountsWithin(h.counts, other.values_seen);
  }
  if (!consistent) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is not a state this server made: its slot and histogram sizes, ranges and counts "
        "do not agree (channel_shape [", absl::StrJoin(other.slot_shape, ", "), "], ", slots,
        " minima, ", other.observed_max.size(), " maxima, ", other.histograms.size(),
        " histograms; ", bins, " bins each expected, counting at most values_seen = ",
        other.values_seen, ")"));
  }
  if (other.values_seen > kMaxCount - state_.values_seen ||
      other.batches_seen > kMaxCount - state_.batches_seen) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " would make the calibration count more than 2^62 values or batches"));
  }
  QUANTD_RETURN_IF_ERROR(AdoptSlots(other.slot_shape, static_cast<int64_t>(slots), what));
  if (state_.resolved_axis < 0) state_.resolved_axis = other.resolved_axis;
  for (size_t s = 0; s < slots; ++s) {
    state_.observed_min[s] = std::min(state_.observed_min[s], other.observed_min[s]);
    state_.observed_max[s] = std::max(state_.observed_max[s], other.observed_max[s]);
  }
  for (size_t s = 0; s < other.histograms.size(); ++s) {
    FineHistogram mine(state_.histograms[s].range_exponent, std::move(state_.histograms[s].counts));
    mine.Merge(FineHistogram(other.histograms[s].range_exponent, other.histograms[s].counts));
    state_.histograms[s] = {mine.range_exponent(), mine.counts()};
  }
  state_.values_seen += other.values_seen;
  state_.batches_seen += other.batches_seen;
  return absl::OkStatus();
}

absl::StatusOr<CalibrationResult> Calibrator::Finish() const {
  if (state_.values_seen == 0) {
    return absl::InvalidArgumentError(
        "the calibration saw no values: send at least one non-empty batch or merge a state");
  }
  const CalibrateOptions& o = state_.options;
  QuantParams spec = TargetSpec(o);
  spec.granularity = Granularity::kPerTensor;
  const int64_t one = 1;
  QUANTD_ASSIGN_OR_RETURN(ResolvedTarget target,
                          ResolveTarget(spec, std::span<const int64_t>(&one, 1), 1, "options."));
  ScaleRule rule;
  rule.scheme = target.params.scheme;
  rule.limit = SymmetricLimit(*target.format, o.full_range);
  rule.qmin = target.qmin;
  rule.qmax = target.qmax;
  rule.scale_dtype = target.params.scale_dtype;
  const bool symmetric = rule.scheme == Scheme::kSymmetric;
  const HistogramRangeRule hist_rule{o.method, symmetric, o.percentile, target.format, rule};

  CalibrationResult result;
  CalibrationStats& stats = result.stats;
  stats.observed_min = state_.observed_min;
  stats.observed_max = state_.observed_max;
  stats.values_seen = state_.values_seen;
  stats.batches_seen = state_.batches_seen;
  const size_t slots = state_.observed_min.size();
  stats.clip_min.resize(slots);
  stats.clip_max.resize(slots);
  QuantParams& p = result.params;
  p = target.params;
  p.granularity = o.granularity;
  p.axis = o.granularity == Granularity::kPerTensor ? 0 : state_.resolved_axis;
  p.group_size = o.granularity == Granularity::kPerGroup ? o.group_size : 0;
  p.scales.resize(slots);
  if (!symmetric) p.zero_points.resize(slots);
  for (size_t s = 0; s < slots; ++s) {
    const float lo = state_.observed_min[s], hi = state_.observed_max[s];
    const float amax = std::max(std::fabs(lo), std::fabs(hi));
    float clip_lo = lo, clip_hi = hi;
    if (o.method == RangeMethod::kAbsMax) {
      clip_lo = -amax;
      clip_hi = amax;
    } else if (uses_histograms()) {
      const FineHistogram fine(state_.histograms[s].range_exponent, state_.histograms[s].counts);
      const bool magnitudes =
          symmetric || o.method == RangeMethod::kEntropy || o.method == RangeMethod::kAbsMean;
      if (o.method == RangeMethod::kPercentile) {
        // Quantiles read the fine bins themselves: within one fine bin
        // (at most one coarse bin) of the exact value.
        const double r = fine.range();
        const std::vector<double> counts = fine.Rebin(magnitudes, magnitudes ? 0.0 : -r, r,
                                                      magnitudes ? fine.bins() / 2 : fine.bins());
        std::tie(clip_lo, clip_hi) = RangeFromHistogram(
            hist_rule, HistogramView{magnitudes ? 0.0 : -r, r, counts}, lo, hi);
      } else {
        const double h_lo = magnitudes ? 0.0 : lo, h_hi = magnitudes ? amax : hi;
        const std::vector<double> coarse = fine.Rebin(magnitudes, h_lo, h_hi, o.num_bins);
        std::tie(clip_lo, clip_hi) =
            RangeFromHistogram(hist_rule, HistogramView{h_lo, h_hi, coarse}, lo, hi);
      }
    }
    stats.clip_min[s] = clip_lo;
    stats.clip_max[s] = clip_hi;
    const ScaleZeroPoint sz = ChooseScaleZeroPoint(clip_lo, clip_hi, rule);
    p.scales[s] = sz.scale;
    if (!symmetric) p.zero_points[s] = sz.zero_point;
  }
  return result;
}

}  // namespace quantd
