// The clipping range of every slot of a Quantize without explicit
// parameters, by its range method, and the codebooks of LUT targets.
#ifndef QUANTD_OPS_RANGE_SELECTION_H_
#define QUANTD_OPS_RANGE_SELECTION_H_

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/element_format.h"
#include "ops/range_methods.h"
#include "ops/scale_selection.h"
#include "ops/slot_statistics.h"
#include "quantd/quantize.h"

namespace quantd {

struct SlotRanges {
  std::vector<float> lo;
  std::vector<float> hi;
  // LUT4/LUT8 with KMEANS: each slot's centroids, in data units.
  std::vector<float> centroids;
};

// Ranges from the observed minima and maxima plus whatever further pass the
// method needs (|x| means, histograms). clip_min / clip_max override their
// side afterwards.
absl::StatusOr<SlotRanges> SelectRanges(const QuantizeJob& job, const ElementFormat& format,
                                        const SlotTensor& tensor, const std::vector<float>& mins,
                                        const std::vector<float>& maxs,
                                        const ExecutionContext& context);

// What a histogram method needs besides the histogram.
struct HistogramRangeRule {
  RangeMethod method = RangeMethod::kPercentile;  // PERCENTILE, ENTROPY, MSE or ABSMEAN.
  bool symmetric = true;
  double percentile = 99.99;
  const ElementFormat* format = nullptr;
  ScaleRule scale_rule;
};

// One slot's clipping range from its histogram: of |x| over [0, amax] for
// symmetric targets and for ENTROPY and ABSMEAN, of x over [lo, hi]
// otherwise. lo and hi are the slot's observed extremes.
std::pair<float, float> RangeFromHistogram(const HistogramRangeRule& rule, HistogramView h,
                                           float lo, float hi);

// One slot's range by MINMAX or ABSMAX from its observed minimum and
// maximum (min > max: a slot without elements, whose range is [0, 0]).
std::pair<float, float> MinMaxRange(RangeMethod method, float min, float max);

// LUT4/LUT8 with LOG2: 0 and signed powers of two up to 1 (times the scale),
// ascending: the negative side one level shorter than the positive.
std::vector<float> Log2Levels(int size);

}  // namespace quantd

#endif  // QUANTD_OPS_RANGE_SELECTION_H_
