// Quantize: float tensor -> quantized tensor, its parameters and its error.
//
// Two steps so that a caller can size its output before any work and write
// it in place: PrepareQuantize checks the request and resolves every
// default without touching the data; RunQuantize reads the input once for
// the range (unless parameters are given) and once to quantize, fusing the
// error statistics into that pass.
#ifndef QUANTD_QUANTIZE_H_
#define QUANTD_QUANTIZE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/error_stats.h"
#include "quantd/execution.h"
#include "quantd/layout.h"
#include "quantd/quant_params.h"
#include "quantd/tensor.h"

namespace quantd {

// Bounds on the error of a result; every bound given must hold.
struct ErrorBudget {
  std::optional<double> min_sqnr_db;
  std::optional<double> max_mse;
  std::optional<double> max_abs_error;
  std::optional<double> min_cosine_similarity;

  bool empty() const {
    return !min_sqnr_db && !max_mse && !max_abs_error && !min_cosine_similarity;
  }
};

struct QuantizeOptions {
  // The target. Unspecified enums mean their documented defaults.
  DType dtype = DType::kUnspecified;
  Scheme scheme = Scheme::kUnspecified;
  Granularity granularity = Granularity::kUnspecified;
  int32_t axis = 0;
  int32_t group_size = 0;
  bool full_range = false;
  DType scale_dtype = DType::kUnspecified;

  // Where the clipping range comes from.
  RangeMethod range_method = RangeMethod::kUnspecified;
  double percentile = 0;
  std::optional<float> clip_min;  // Each overrides its side of range_method.
  std::optional<float> clip_max;

  // Explicit parameters: when set, the target and range fields are ignored.
  std::optional<QuantParams> params;

  Rounding rounding = Rounding::kUnspecified;
  uint64_t seed = 0;
  bool return_dequantized = false;
  ErrorBudget max_error;  // dtype AUTO only (see quantd/analyze.h).
};

// A checked Quantize with every default resolved. Built by PrepareQuantize;
// holds views of the input, which must outlive it.
struct QuantizeJob {
  TensorView input;
  int64_t count = 0;
  // dtype, scheme, granularity, normalized axis, group_size, full_range and
  // scale_dtype resolved; scales, zero_points and codebook filled only when
  // given explicitly.
  QuantParams params;
  bool params_given = false;
  SlotLayout layout;
  int32_t qmin = 0;  // Integer targets.
  int32_t qmax = 0;
  // The resolved range method; UNSPECIFIED only for a FLOAT16 or BFLOAT16
  // target without range options, which is a plain cast (unit scale).
  RangeMethod range_method = RangeMethod::kUnspecified;
  double percentile = 99.99;
  std::optional<float> clip_min;
  std::optional<float> clip_max;
  Rounding rounding = Rounding::kHalfToEven;
  uint64_t seed = 0;
  bool return_dequantized = false;

  int64_t output_bytes = 0;       // Size of the quantized output.
  int64_t dequantized_bytes = 0;  // Size of x' in the input dtype, or 0.
};

// Checks the input's layout and the options; reads no element. Errors are
// INVALID_ARGUMENT naming the field, or UNIMPLEMENTED naming the feature.
absl::StatusOr<QuantizeJob> PrepareQuantize(const TensorView& input,
                                            const QuantizeOptions& options);

struct QuantizeResult {
  QuantParams params;  // Complete: Dequantize(output, params) gives x'.
  ErrorStats error;
};

// Runs a prepared job. `output` must hold job.output_bytes and `dequantized`
// job.dequantized_bytes (empty when not asked). Fails with INVALID_ARGUMENT
// on NaN or Inf in the input, and with CANCELLED when the context says so.
// The result does not depend on the pool's size.
absl::StatusOr<QuantizeResult> RunQuantize(const QuantizeJob& job,
                                           std::span<std::byte> output,
                                           std::span<std::byte> dequantized,
                                           const ExecutionContext& context = {});

// Tensors that arrive in pieces (the streaming RPCs). PrepareQuantizeShape
// checks what PrepareQuantize checks except the bytes, which come later;
// the shape must outlive the job. QuantizeSlice then quantizes elements
// [first, first + input elements) with complete parameters (explicit ones,
// job.params): `input` holds their bytes, `output` their packed codes.
// `first` must be a multiple of kSliceAlignment, and so must every slice's
// length but the last. The slice's error is merged into `sums`: slices
// given one after the other leave exactly the sums of the whole tensor.
inline constexpr int64_t kSliceAlignment = int64_t{1} << 16;
absl::StatusOr<QuantizeJob> PrepareQuantizeShape(DType dtype, std::span<const int64_t> shape,
                                                 const QuantizeOptions& options);
absl::Status QuantizeSlice(const QuantizeJob& job, int64_t first, std::span<const std::byte> input,
                           std::span<std::byte> output, ErrorSums* sums,
                           const ExecutionContext& context = {});

// Both steps with owned buffers, for callers that do not manage memory.
struct QuantizedTensor {
  std::vector<std::byte> data;
  std::vector<std::byte> dequantized;
  QuantizeResult result;
};
absl::StatusOr<QuantizedTensor> Quantize(const TensorView& input,
                                         const QuantizeOptions& options,
                                         const ExecutionContext& context = {});

}  // namespace quantd

#endif  // QUANTD_QUANTIZE_H_
