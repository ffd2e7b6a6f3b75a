// Passes over a float tensor that gather per-slot statistics for range
// selection: min and max (which also finds NaN and Inf), the mean of |x|,
// and histograms. Every result is independent of the pool's size: min and
// max and integer counts do not depend on order, and the |x| sums are kept
// in exact fixed point.
#ifndef QUANTD_OPS_SLOT_STATISTICS_H_
#define QUANTD_OPS_SLOT_STATISTICS_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kernels/kernels.h"
#include "quantd/execution.h"
#include "quantd/layout.h"

namespace quantd {

// A float tensor and how its elements map to slots.
struct SlotTensor {
  FloatSource src;
  int64_t count = 0;
  SlotLayout layout;
};

// The lowest flat index at which any block met a NaN or Inf.
class FirstNonFinite {
 public:
  explicit FirstNonFinite(int64_t none) : none_(none), index_(none) {}

  void Note(int64_t index) {
    for (int64_t seen = index_.load(); index < seen && !index_.compare_exchange_weak(seen, index);) {
    }
  }
  bool found() const { return index_.load() < none_; }
  // INVALID_ARGUMENT naming the element (as field[offset + i]) and its
  // value (element i of src).
  absl::Status Error(FloatSource src, absl::string_view field = "input.data",
                     int64_t offset = 0) const;

 private:
  const int64_t none_;
  std::atomic<int64_t> index_;
};

// Per slot: the minimum and maximum (+inf/-inf for an empty slot).
absl::Status ObserveMinMax(const SlotTensor& t, const KernelTable& kernels,
                           const ExecutionContext& context, FirstNonFinite* bad,
                           std::vector<float>* mins, std::vector<float>* maxs);

// Per slot: the mean of |x| (0 for an empty slot). `amax` is each slot's
// largest |x|, the unit of the fixed-point sums.
absl::Status ObserveAbsMeans(const SlotTensor& t, const std::vector<float>& amax,
                             const ExecutionContext& context, std::vector<float>* means);

// Per slot: `bins` counts over [lo[c], hi[c]] of |x| (magnitudes) or of x,
// slot c's at c * bins.
absl::Status ObserveHistograms(const SlotTensor& t, bool magnitudes, const std::vector<float>& lo,
                               const std::vector<float>& hi, int64_t bins,
                               const ExecutionContext& context, std::vector<double>* counts);

}  // namespace quantd

#endif  // QUANTD_OPS_SLOT_STATISTICS_H_
