// The Quantizer RPC handlers: proto -> validated view -> core -> response.
#include "server/rpc_handlers.h"

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quantd/analyze.h"
#include "quantd/dequantize.h"
#include "quantd/matmul.h"
#include "quantd/quantize.h"
#include "quantd/status_macros.h"
#include "server/proto_convert.h"

namespace quantd::server {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void SetShape(std::span<const int64_t> shape, v1::Tensor* tensor) {
  tensor->mutable_shape()->Assign(shape.begin(), shape.end());
}

}  // namespace

absl::Status HandleQuantize(const v1::QuantizeRequest& request, const ExecutionContext& execution,
                            Metrics& metrics, v1::QuantizeResponse* response) {
  const TensorView input = TensorViewOf(request.input());
  QuantizeOptions options = OptionsFromProto(request.options());
  bool budget_met = true;
  if (options.dtype == DType::kAuto && !options.params) {
    // The sweep picks the format; the winner is then quantized like any
    // request, straight into the response.
    QUANTD_ASSIGN_OR_RETURN(AutoChoice choice, ChooseAuto(input, options, execution));
    options = choice.options;
    budget_met = choice.budget_met;
  }
  QUANTD_ASSIGN_OR_RETURN(QuantizeJob job, PrepareQuantize(input, options));

  v1::Tensor* output = response->mutable_output();
  output->set_dtype(static_cast<v1::DType>(job.params.dtype));
  SetShape(input.shape, output);
  std::span<std::byte> out = ResizeTensorData(output, job.output_bytes);
  std::span<std::byte> deq;
  if (job.return_dequantized) {
    v1::Tensor* dequantized = response->mutable_dequantized();
    dequantized->set_dtype(request.input().dtype());
    SetShape(input.shape, dequantized);
    deq = ResizeTensorData(dequantized, job.dequantized_bytes);
  }

  const auto start = std::chrono::steady_clock::now();
  QUANTD_ASSIGN_OR_RETURN(QuantizeResult result, RunQuantize(job, out, deq, execution));
  const double kernel_seconds = SecondsSince(start);

  ParamsToProto(result.params, response->mutable_params());
  ErrorStatsToProto(result.error, response->mutable_error());
  response->set_budget_met(budget_met);
  metrics.RecordQuantize(result.params, static_cast<int64_t>(input.data.size()),
                         job.output_bytes + job.dequantized_bytes, result.error, kernel_seconds);
  return absl::OkStatus();
}

absl::Status HandleDequantize(const v1::DequantizeRequest& request,
                              const ExecutionContext& execution, Metrics& metrics,
                              v1::DequantizeResponse* response) {
  const TensorView input = TensorViewOf(request.input());
  QUANTD_ASSIGN_OR_RETURN(
      DequantizeJob job,
      PrepareDequantize(input, ParamsFromProto(request.params()),
                        static_cast<DType>(request.output_dtype())));
  v1::Tensor* output = response->mutable_output();
  output->set_dtype(static_cast<v1::DType>(job.output_dtype));
  SetShape(input.shape, output);
  std::span<std::byte> out = ResizeTensorData(output, job.output_bytes);

  const auto start = std::chrono::steady_clock::now();
  QUANTD_RETURN_IF_ERROR(RunDequantize(job, out, execution));
  metrics.RecordDequantize(job.params.dtype, job.count, static_cast<int64_t>(input.data.size()),
                           job.output_bytes, SecondsSince(start));
  return absl::OkStatus();
}

absl::Status HandleQuantizedMatMul(const v1::MatMulRequest& request,
                                   const ExecutionContext& execution, Metrics& metrics,
                                   v1::MatMulResponse* response) {
  QUANTD_ASSIGN_OR_RETURN(
      MatMulJob job, PrepareMatMul(MatMulInputsFromProto(request), MatMulOptionsFromProto(request)));
  v1::Tensor* output = response->mutable_output();
  output->set_dtype(static_cast<v1::DType>(job.options.output_dtype));
  const int64_t shape[] = {job.m, job.n};
  SetShape(shape, output);
  std::span<std::byte> out = ResizeTensorData(output, job.output_bytes);

  const auto start = std::chrono::steady_clock::now();
  QUANTD_ASSIGN_OR_RETURN(MatMulResult result, RunMatMul(job, out, execution));
  const double kernel_seconds = SecondsSince(start);

  v1::MatMulStats* stats = response->mutable_stats();
  stats->set_outlier_columns(result.outlier_columns);
  if (result.error.has_value()) ErrorStatsToProto(*result.error, stats->mutable_error());
  const int64_t in_bytes = static_cast<int64_t>(request.a().data().size() + request.b().data().size() +
                                                request.bias().data().size());
  metrics.RecordMatMul(job, result, in_bytes, kernel_seconds);
  return absl::OkStatus();
}

absl::Status HandleAnalyze(const v1::AnalyzeRequest& request, const ExecutionContext& execution,
                           Metrics& metrics, v1::AnalyzeResponse* response) {
  const TensorView input = TensorViewOf(request.input());
  std::vector<QuantizeOptions> candidates;
  for (const v1::QuantizeOptions& c : request.candidates()) candidates.push_back(OptionsFromProto(c));
  const auto start = std::chrono::steady_clock::now();
  QUANTD_ASSIGN_OR_RETURN(std::vector<AnalyzeRow> rows, quantd::Analyze(input, candidates, execution));
  const double kernel_seconds = SecondsSince(start);
  for (const AnalyzeRow& row : rows) {
    v1::AnalyzeRow* out = response->add_rows();
    OptionsToProto(row.options, out->mutable_options());
    out->set_bits_per_element(row.bits_per_element);
    ErrorStatsToProto(row.error, out->mutable_error());
    out->set_pareto(row.pareto);
  }
  const int64_t count = ElementCount(input.shape, "input.shape").value_or(0);  // Checked above.
  metrics.RecordAnalyze(input.dtype, count * static_cast<int64_t>(rows.size()),
                        static_cast<int64_t>(input.data.size()), kernel_seconds);
  return absl::OkStatus();
}

absl::Status CalibrateSession::Receive(const v1::CalibrateRequest& message) {
  if (calibrator_) {
    if (message.has_options()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "message ", batches_ + 1, " carries options; only the first message may"));
    }
    return absl::OkStatus();
  }
  if (!message.has_options()) {
    return absl::InvalidArgumentError(
        "the first message must carry options (method and target); later ones carry batches");
  }
  QUANTD_ASSIGN_OR_RETURN(Calibrator calibrator,
                          Calibrator::Create(CalibrateOptionsFromProto(message.options())));
  for (int i = 0; i < message.options().merge_size(); ++i) {
    const std::string field = absl::StrCat("options.merge[", i, "]");
    QUANTD_ASSIGN_OR_RETURN(CalibrationState state,
                            CalibrationStateFromProto(message.options().merge(i), field));
    QUANTD_RETURN_IF_ERROR(calibrator.Merge(state, i));
  }
  calibrator_.emplace(std::move(calibrator));
  return absl::OkStatus();
}

absl::Status CalibrateSession::Observe(const v1::Tensor& batch, const ExecutionContext& execution) {
  if (!calibrator_) {
    return absl::FailedPreconditionError("a batch observed before the stream's options");
  }
  const TensorView view = TensorViewOf(batch);
  const auto start = std::chrono::steady_clock::now();
  QUANTD_RETURN_IF_ERROR(calibrator_->AddBatch(view, batches_++, execution));
  const int64_t count = ElementCount(view.shape, "batch.shape").value_or(0);
  metrics_->RecordCalibrationBatch(view.dtype, count, static_cast<int64_t>(view.data.size()),
                                   SecondsSince(start));
  return absl::OkStatus();
}

absl::Status CalibrateSession::Respond(v1::CalibrateResponse* response) {
  if (!calibrator_) {
    return absl::InvalidArgumentError(
        "the stream carried no messages; the first must carry options");
  }
  QUANTD_ASSIGN_OR_RETURN(CalibrationResult result, calibrator_->Finish());
  ParamsToProto(result.params, response->mutable_params());
  CalibrationStatsToProto(result.stats, response->mutable_stats());
  CalibrationStateToProto(calibrator_->state(), response->mutable_state());
  metrics_->RecordCalibration(calibrator_->state().options.method, result.stats.observed_min,
                              result.stats.observed_max, result.stats.clip_min,
                              result.stats.clip_max);
  return absl::OkStatus();
}

}  // namespace quantd::server
