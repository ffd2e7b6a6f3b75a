// Calibrate: quantization parameters from a stream of batches, with an
// observer state that merges across streams, ranks and replicas.
#ifndef QUANTD_CALIBRATE_H_
#define QUANTD_CALIBRATE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/execution.h"
#include "quantd/layout.h"
#include "quantd/quant_params.h"
#include "quantd/tensor.h"

namespace quantd {

struct CalibrateOptions {
  // MINMAX, MOVING_AVERAGE_MINMAX, PERCENTILE, ENTROPY, MSE, ABSMAX or
  // ABSMEAN; unspecified is MINMAX.
  RangeMethod method = RangeMethod::kUnspecified;
  // The target, as in QuantizeOptions.
  DType dtype = DType::kUnspecified;
  Scheme scheme = Scheme::kUnspecified;
  Granularity granularity = Granularity::kUnspecified;
  int32_t axis = 0;
  int32_t group_size = 0;
  bool full_range = false;
  DType scale_dtype = DType::kUnspecified;
  int32_t num_bins = 0;            // 0: 2048.
  double percentile = 0;           // 0: 99.99.
  double averaging_constant = 0;   // 0: 0.01.

  bool operator==(const CalibrateOptions&) const = default;
};

// One slot's histogram of x: equal bins over [-2^range_exponent,
// 2^range_exponent].
struct CalibrationHistogram {
  int32_t range_exponent = 0;
  std::vector<int64_t> counts;
};

// The observer's whole state, enough to continue or merge it.
struct CalibrationState {
  CalibrateOptions options;          // Defaults resolved.
  std::vector<int64_t> slot_shape;   // The slot layout's defining sizes.
  int32_t resolved_axis = -1;        // The axis, non-negative, once a batch named it.
  std::vector<float> observed_min;   // Per slot; moving averages for MOVING_AVERAGE_MINMAX.
  std::vector<float> observed_max;
  std::vector<CalibrationHistogram> histograms;  // Histogram methods only.
  int64_t values_seen = 0;
  int64_t batches_seen = 0;
};

struct CalibrationStats {
  std::vector<float> observed_min;
  std::vector<float> observed_max;
  std::vector<float> clip_min;
  std::vector<float> clip_max;
  int64_t values_seen = 0;
  int64_t batches_seen = 0;
};

struct CalibrationResult {
  QuantParams params;  // Feeds QuantizeOptions.params unchanged.
  CalibrationStats stats;
};

class Calibrator {
 public:
  // Checks the options (INVALID_ARGUMENT naming the field).
  static absl::StatusOr<Calibrator> Create(const CalibrateOptions& options);

  // Folds an earlier state in: same method and target, same slots.
  absl::Status Merge(const CalibrationState& state, int64_t index);
  // Observes one batch; errors name the batch by `index`.
  absl::Status AddBatch(const TensorView& batch, int64_t index, const ExecutionContext& context);
  // The parameters of everything observed so far.
  absl::StatusOr<CalibrationResult> Finish() const;

  const CalibrationState& state() const { return state_; }

 private:
  explicit Calibrator(CalibrationState state) : state_(std::move(state)) {}
  bool uses_histograms() const;
  absl::Status AdoptSlots(std::vector<int64_t> slot_shape, int64_t slots, absl::string_view what);

  CalibrationState state_;
};

}  // namespace quantd

#endif  // QUANTD_CALIBRATE_H_
