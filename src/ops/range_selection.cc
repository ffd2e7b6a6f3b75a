// Range methods applied per slot.
#include "ops/range_selection.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "formats/scalar_quantizer.h"
#include "ops/parallel.h"
#include "ops/range_methods.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

// Histogram sizes: the slot's element count, within these bounds.
constexpr int64_t kMinBins = 16;
constexpr int64_t kMaxRangeBins = 2048;
constexpr int64_t kMaxKMeansBins = 8192;
// Slots per unit of parallel work in the per-slot searches.
constexpr int64_t kSlotsPerTask = 16;

int64_t LargestSlot(const SlotLayout& layout) {
  if (layout.group_size > 0) return std::min(layout.group_size, layout.axis_len);
  return layout.outer * layout.inner;
}

float AbsMax(float min, float max) { return std::max(std::fabs(min), std::fabs(max)); }

// Runs fn(slot) for every slot on the pool.
absl::Status ForEachSlot(int64_t slots, const ExecutionContext& context,
                         const std::function<void(int64_t)>& fn) {
  return RunBlocks(context, (slots + kSlotsPerTask - 1) / kSlotsPerTask, [&](int64_t task, int) {
    for (int64_t c = task * kSlotsPerTask; c < std::min(slots, (task + 1) * kSlotsPerTask); ++c) fn(c);
  });
}

// The squared error of one value's round trip under the range [lo, hi].
double RoundTripSquaredError(const ElementFormat& format, const ScaleRule& rule,
                             const float* levels, const float* boundaries, double v,
                             float lo, float hi) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(lo, hi, rule);
  SlotQuantizer q;
  q.format = &format;
  q.qmin = static_cast<float>(rule.qmin);
  q.qmax = static_cast<float>(rule.qmax);
  q.zero_point = static_cast<float>(sz.zero_point);
  q.levels = levels;
  q.boundaries = boundaries;
  const float x = static_cast<float>(v);
  const QuantizedValue r = QuantizeValue(q, x * (1.0f / sz.scale), 0.0f);
  const double e = v - static_cast<double>(r.level * sz.scale);
  return e * e;
}

}  // namespace

std::pair<float, float> RangeFromHistogram(const HistogramRangeRule& rule, HistogramView h,
                                           float lo, float hi) {
  const ElementFormat& format = *rule.format;
  const bool magnitudes = rule.symmetric || rule.method == RangeMethod::kEntropy;
  const double fraction = rule.percentile / 100.0;
  switch (rule.method) {
    case RangeMethod::kPercentile:
      if (magnitudes) {
        const float t = static_cast<float>(HistogramQuantile(h, fraction));
        return {-t, t};
      }
      return {static_cast<float>(HistogramQuantile(h, 1.0 - fraction)),
              static_cast<float>(HistogramQuantile(h, fraction))};
    case RangeMethod::kEntropy: {
      const float t = static_cast<float>(EntropyThreshold(h, 1 << (format.bits - 1)));
      if (rule.symmetric) return {-t, t};
      return {std::max(lo, -t), std::min(hi, t)};
    }
    case RangeMethod::kAbsMean: {
      // The mean of |x| over the bin centres of a histogram of |x|.
      double sum = 0, count = 0;
      for (size_t b = 0; b < h.counts.size(); ++b) {
        sum += static_cast<double>(h.counts[b]) * (h.lo + (b + 0.5) * h.bin_width());
        count += static_cast<double>(h.counts[b]);
      }
      const float mean = count > 0 ? static_cast<float>(sum / count) : 0.0f;
      return {-mean, mean};
    }
    default: {
      float boundaries[15];
      CodebookBoundaries(kNF4Levels, 16, boundaries);
      const float* levels = format.dtype == DType::kNF4 ? kNF4Levels : nullptr;
      return MseRange(h, magnitudes, [&](double v, float a, float b) {
        return RoundTripSquaredError(format, rule.scale_rule, levels, boundaries, v, a, b);
      });
    }
  }
}

std::pair<float, float> MinMaxRange(RangeMethod method, float min, float max) {
  if (min > max) min = max = 0.0f;
  if (method == RangeMethod::kAbsMax) {
    const float amax = AbsMax(min, max);
    return {-amax, amax};
  }
  return {min, max};
}

std::vector<float> Log2Levels(int size) {
  // size = 1 (zero) + (size/2 - 1) negative + size/2 positive levels.
  std::vector<float> levels;
  for (int k = 0; k < size / 2 - 1; ++k) levels.push_back(-std::ldexp(1.0f, -k));
  levels.push_back(0.0f);
  for (int k = size / 2 - 1; k >= 0; --k) levels.push_back(std::ldexp(1.0f, -k));
  return levels;
}

absl::StatusOr<SlotRanges> SelectRanges(const QuantizeJob& job, const ElementFormat& format,
                                        const SlotTensor& tensor, const std::vector<float>& mins,
                                        const std::vector<float>& maxs,
                                        const ExecutionContext& context) {
  const int64_t slots = tensor.layout.slots();
  const bool symmetric = job.params.scheme == Scheme::kSymmetric;
  SlotRanges r;
  r.lo.resize(slots);
  r.hi.resize(slots);
  std::vector<float> amax(slots), lo(slots), hi(slots);
  for (int64_t c = 0; c < slots; ++c) {
    std::tie(lo[c], hi[c]) = MinMaxRange(RangeMethod::kMinMax, mins[c], maxs[c]);
    amax[c] = AbsMax(lo[c], hi[c]);
  }
  const int64_t largest = LargestSlot(tensor.layout);
  switch (job.range_method) {
    case RangeMethod::kMinMax:
    case RangeMethod::kAbsMax:
      for (int64_t c = 0; c < slots; ++c) {
        std::tie(r.lo[c], r.hi[c]) = MinMaxRange(job.range_method, lo[c], hi[c]);
      }
      break;
    case RangeMethod::kLog2:
      for (int64_t c = 0; c < slots; ++c) r.lo[c] = -(r.hi[c] = amax[c]);
      break;
    case RangeMethod::kAbsMean: {
      std::vector<float> means;
      QUANTD_RETURN_IF_ERROR(ObserveAbsMeans(tensor, amax, context, &means));
      for (int64_t c = 0; c < slots; ++c) r.lo[c] = -(r.hi[c] = means[c]);
      break;
    }
    case RangeMethod::kPercentile:
    case RangeMethod::kEntropy:
    case RangeMethod::kMse: {
      // ENTROPY measures |x| in either scheme; the others look at x itself
      // when the range is asymmetric.
      const bool magnitudes = symmetric || job.range_method == RangeMethod::kEntropy;
      const int64_t bins = std::clamp(largest, kMinBins, kMaxRangeBins);
      std::vector<float> hist_lo(slots, 0.0f);
      if (!magnitudes) hist_lo = lo;
      const std::vector<float>& hist_hi = magnitudes ? amax : hi;
      std::vector<double> counts;
      QUANTD_RETURN_IF_ERROR(
          ObserveHistograms(tensor, magnitudes, hist_lo, hist_hi, bins, context, &counts));
      const HistogramRangeRule rule{job.range_method, symmetric, job.percentile, &format,
                                    ScaleRuleOf(job.params, format, job.qmin, job.qmax)};
      QUANTD_RETURN_IF_ERROR(ForEachSlot(slots, context, [&](int64_t c) {
        const HistogramView h{hist_lo[c], hist_hi[c],
                              std::span<const double>(counts.data() + c * bins, bins)};
        std::tie(r.lo[c], r.hi[c]) = RangeFromHistogram(rule, h, lo[c], hi[c]);
      }));
      break;
    }
    case RangeMethod::kKMeans: {
      const int k = format.codebook_size;
      const int64_t bins = std::clamp(largest, int64_t{4} * k, kMaxKMeansBins);
      std::vector<double> counts;
      QUANTD_RETURN_IF_ERROR(ObserveHistograms(tensor, /*magnitudes=*/false, lo, hi, bins,
                                               context, &counts));
      r.centroids.resize(slots * k);
      QUANTD_RETURN_IF_ERROR(ForEachSlot(slots, context, [&](int64_t c) {
        const HistogramView h{lo[c], hi[c], std::span<const double>(counts.data() + c * bins, bins)};
        const std::vector<float> centroids = KMeansCentroids(h, k);
        std::copy(centroids.begin(), centroids.end(), r.centroids.begin() + c * k);
        r.lo[c] = -(r.hi[c] = amax[c]);
      }));
      break;
    }
    default:
      return absl::InternalError("SelectRanges: no range method resolved");
  }
  if (job.clip_min) std::fill(r.lo.begin(), r.lo.end(), *job.clip_min);
  if (job.clip_max) std::fill(r.hi.begin(), r.hi.end(), *job.clip_max);
  return r;
}

}  // namespace quantd
