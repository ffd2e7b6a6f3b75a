// Analyze: the error of many quantization formats on one tensor, with their
// size in bits per element and the bits-versus-SQNR Pareto front; and AUTO,
// the smallest format of the default sweep that meets an error budget.
#ifndef QUANTD_ANALYZE_H_
#define QUANTD_ANALYZE_H_

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/error_stats.h"
#include "quantd/execution.h"
#include "quantd/quantize.h"
#include "quantd/tensor.h"

namespace quantd {

struct AnalyzeRow {
  QuantizeOptions options;
  // Element bits plus the scales (at their scale_dtype's width), zero points
  // (at the element width) and codebook values (32 bits), per element.
  double bits_per_element = 0;
  ErrorStats error;
  // No other row has fewer or equal bits and a higher SQNR, or fewer bits
  // and an equal or higher one.
  bool pareto = false;
};

// API.md's default sweep for a tensor of this shape, in its order: binary
// and ternary per tensor; INT4 and NF4 per group of 32, 64 and 128 along
// the last axis; INT8 per tensor and per channel (axis 0); FP8 E4M3 and
// E5M2 per tensor; MXFP8, MXFP4 and MXINT8 (groups of 32, E8M0 scales);
// FLOAT16 and BFLOAT16 casts. A scalar has no axes: its sweep leaves out
// the per-group and per-channel rows.
std::vector<QuantizeOptions> DefaultSweep(std::span<const int64_t> shape);

// Quantizes `input` with every candidate (the default sweep when empty),
// several candidates at once on the context's pool. A candidate that does
// not fit the tensor is INVALID_ARGUMENT naming candidates[i].
absl::StatusOr<std::vector<AnalyzeRow>> Analyze(const TensorView& input,
                                                std::span<const QuantizeOptions> candidates,
                                                const ExecutionContext& context = {});

// Whether an error meets every bound of the budget.
bool MeetsBudget(const ErrorStats& error, const ErrorBudget& budget);

struct AutoChoice {
  QuantizeOptions options;  // The chosen row's options, ready for Quantize.
  bool budget_met = false;
};

// dtype AUTO: the sweep's row with the fewest bits that meets options.max_error
// (ties: the first in sweep order), or the highest-SQNR row when none does.
// INVALID_ARGUMENT without any bound. return_dequantized carries over.
absl::StatusOr<AutoChoice> ChooseAuto(const TensorView& input, const QuantizeOptions& options,
                                      const ExecutionContext& context = {});

}  // namespace quantd

#endif  // QUANTD_ANALYZE_H_
