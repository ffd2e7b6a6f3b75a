// Counting a batch into per-slot histograms in one pass: each value's
// slot minimum and maximum are updated and, when its slot's range already
// covers it, its bin counted. Only values beyond their slot's range (all of
// them in a slot's first batch) need a second pass, after the range has
// grown; growing merges bins exactly, so the counts equal those of binning
// every value at the final range.
#ifndef QUANTD_OPS_HISTOGRAM_OBSERVER_H_
#define QUANTD_OPS_HISTOGRAM_OBSERVER_H_

#include <vector>

#include "absl/status/status.h"
#include "ops/fine_histogram.h"
#include "ops/slot_statistics.h"
#include "quantd/execution.h"

namespace quantd {

// Adds the batch to `histograms` (one per slot) and returns each slot's
// minimum and maximum. On a NaN or Inf, `bad` holds its index and the
// histograms are left as they were.
absl::Status ObserveIntoHistograms(const SlotTensor& batch, const ExecutionContext& context,
                                   FirstNonFinite* bad, std::vector<FineHistogram>* histograms,
                                   std::vector<float>* mins, std::vector<float>* maxs);

}  // namespace quantd

#endif  // QUANTD_OPS_HISTOGRAM_OBSERVER_H_
