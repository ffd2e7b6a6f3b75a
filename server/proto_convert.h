// Between wire messages and the core library's views and structs. Views
// point into the request message: nothing is copied.
#ifndef QUANTD_SERVER_PROTO_CONVERT_H_
#define QUANTD_SERVER_PROTO_CONVERT_H_

#include <string>

#include "absl/status/statusor.h"
#include "quantd/calibrate.h"
#include "quantd/error_stats.h"
#include "quantd/matmul.h"
#include "quantd/quant_params.h"
#include "quantd/quantize.h"
#include "quantd/tensor.h"
#include "quantd/v1/quantd.pb.h"

namespace quantd::server {

// A view of the tensor's bytes and shape inside `tensor`. Enum numbers are
// carried as they are; the core library rejects unknown ones.
TensorView TensorViewOf(const v1::Tensor& tensor);

QuantParams ParamsFromProto(const v1::QuantParams& proto);
void ParamsToProto(const QuantParams& params, v1::QuantParams* proto);

QuantizeOptions OptionsFromProto(const v1::QuantizeOptions& proto);
void OptionsToProto(const QuantizeOptions& options, v1::QuantizeOptions* proto);

CalibrateOptions CalibrateOptionsFromProto(const v1::CalibrateOptions& proto);
void CalibrateOptionsToProto(const CalibrateOptions& options, v1::CalibrateOptions* proto);
// A state from the wire; INVALID_ARGUMENT (naming `field`) when its
// histograms are not the power-of-two ranges this server writes.
absl::StatusOr<CalibrationState> CalibrationStateFromProto(const v1::CalibrationState& proto,
                                                           absl::string_view field);
void CalibrationStateToProto(const CalibrationState& state, v1::CalibrationState* proto);
void CalibrationStatsToProto(const CalibrationStats& stats, v1::CalibrationStats* proto);

// The operands of a QuantizedMatMul as views into `request`; absent
// params and bias stay absent. Checked by PrepareMatMul, not here.
MatMulInputs MatMulInputsFromProto(const v1::MatMulRequest& request);
MatMulOptions MatMulOptionsFromProto(const v1::MatMulRequest& request);

void ErrorStatsToProto(const ErrorStats& stats, v1::ErrorStats* proto);

// Sizes `tensor`'s data to `bytes` and returns a writable view of it, so a
// kernel writes straight into the response.
std::span<std::byte> ResizeTensorData(v1::Tensor* tensor, int64_t bytes);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_PROTO_CONVERT_H_
