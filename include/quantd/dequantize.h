// Dequantize: quantized tensor + parameters -> float tensor x'.
#ifndef QUANTD_DEQUANTIZE_H_
#define QUANTD_DEQUANTIZE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "quantd/execution.h"
#include "quantd/layout.h"
#include "quantd/quant_params.h"
#include "quantd/quantize.h"
#include "quantd/tensor.h"

namespace quantd {

// A checked Dequantize. Built by PrepareDequantize; holds a view of the
// input, which must outlive it.
struct DequantizeJob {
  TensorView input;
  int64_t count = 0;
  QuantParams params;  // Validated, axis normalized.
  SlotLayout layout;
  DType output_dtype = DType::kFloat32;
  int64_t output_bytes = 0;
};

// Checks the input against the parameters; `output_dtype` FLOAT32
// (unspecified), FLOAT16 or BFLOAT16.
absl::StatusOr<DequantizeJob> PrepareDequantize(const TensorView& input,
                                                const QuantParams& params,
                                                DType output_dtype);

// `output` must hold job.output_bytes.
absl::Status RunDequantize(const DequantizeJob& job, std::span<std::byte> output,
                           const ExecutionContext& context = {});

// Tensors that arrive in pieces: PrepareDequantizeShape checks all but the
// bytes (the shape must outlive the job); DequantizeSlice dequantizes
// elements [first, first + count), `first` a multiple of kSliceAlignment.
absl::StatusOr<DequantizeJob> PrepareDequantizeShape(DType dtype, std::span<const int64_t> shape,
                                                     const QuantParams& params,
                                                     DType output_dtype);
absl::Status DequantizeSlice(const DequantizeJob& job, int64_t first, int64_t count,
                             std::span<const std::byte> input, std::span<std::byte> output,
                             const ExecutionContext& context = {});

absl::StatusOr<std::vector<std::byte>> Dequantize(const TensorView& input,
                                                  const QuantParams& params,
                                                  DType output_dtype,
                                                  const ExecutionContext& context = {});

}  // namespace quantd

#endif  // QUANTD_DEQUANTIZE_H_
