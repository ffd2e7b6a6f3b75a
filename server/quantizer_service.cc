// The Quantizer RPC handlers: proto -> validated view -> core -> response.
#include "server/quantizer_service.h"

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "quantd/analyze.h"
#include "quantd/dequantize.h"
#include "quantd/matmul.h"
#include "quantd/quantize.h"
#include "quantd/status_macros.h"
#include "server/calibrate_reactor.h"
#include "server/grpc_status.h"
#include "server/pool_work.h"
#include "server/proto_convert.h"
#include "server/tensor_streams.h"

namespace quantd::server {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void SetShape(std::span<const int64_t> shape, v1::Tensor* tensor) {
  tensor->mutable_shape()->Assign(shape.begin(), shape.end());
}

}  // namespace

grpc::ServerUnaryReactor* QuantizerService::RunOnPool(
    grpc::CallbackServerContext* context,
    std::function<absl::Status(const ExecutionContext&)> work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  metrics_->inflight_requests.Increment();
  auto status = std::make_shared<absl::Status>();
  auto task = [this, context, status, work = std::move(work)] {
    *status = context->IsCancelled()
                  ? absl::CancelledError("the client cancelled before work began")
                  : work(CallExecution(context, pool_, max_isa_));
  };
  auto reply = [this, reactor, status] {
    metrics_->pool_queue_depth.Set(static_cast<double>(pool_->pending()));
    metrics_->inflight_requests.Decrement();
    reactor->Finish(ToGrpcStatus(*status));
  };
  if (absl::Status refused = SubmitToPool(pool_, metrics_, std::move(task), std::move(reply));
      !refused.ok()) {
    metrics_->inflight_requests.Decrement();
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  metrics_->pool_queue_depth.Set(static_cast<double>(pool_->pending()));
  return reactor;
}

grpc::ServerUnaryReactor* QuantizerService::Quantize(grpc::CallbackServerContext* context,
                                                     const v1::QuantizeRequest* request,
                                                     v1::QuantizeResponse* response) {
  return RunOnPool(context, [this, request, response](const ExecutionContext& execution) {
    return DoQuantize(*request, execution, response);
  });
}

grpc::ServerUnaryReactor* QuantizerService::Dequantize(grpc::CallbackServerContext* context,
                                                       const v1::DequantizeRequest* request,
                                                       v1::DequantizeResponse* response) {
  return RunOnPool(context, [this, request, response](const ExecutionContext& execution) {
    return DoDequantize(*request, execution, response);
  });
}

absl::Status QuantizerService::DoQuantize(const v1::QuantizeRequest& request,
                                          const ExecutionContext& execution,
                                          v1::QuantizeResponse* response) {
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
  metrics_->RecordQuantize(result.params, static_cast<int64_t>(input.data.size()),
                           job.output_bytes + job.dequantized_bytes, result.error, kernel_seconds);
  return absl::OkStatus();
}

absl::Status QuantizerService::DoDequantize(const v1::DequantizeRequest& request,
                                            const ExecutionContext& execution,
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
  metrics_->RecordDequantize(job.params.dtype, job.count, static_cast<int64_t>(input.data.size()),
                             job.output_bytes, SecondsSince(start));
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* QuantizerService::QuantizedMatMul(grpc::CallbackServerContext* context,
                                                            const v1::MatMulRequest* request,
                                                            v1::MatMulResponse* response) {
  return RunOnPool(context, [this, request, response](const ExecutionContext& execution) {
    return DoQuantizedMatMul(*request, execution, response);
  });
}

absl::Status QuantizerService::DoQuantizedMatMul(const v1::MatMulRequest& request,
                                                 const ExecutionContext& execution,
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
  metrics_->RecordMatMul(job, result, in_bytes, kernel_seconds);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* QuantizerService::Analyze(grpc::CallbackServerContext* context,
                                                    const v1::AnalyzeRequest* request,
                                                    v1::AnalyzeResponse* response) {
  return RunOnPool(context, [this, request, response](const ExecutionContext& execution) {
    return DoAnalyze(*request, execution, response);
  });
}

absl::Status QuantizerService::DoAnalyze(const v1::AnalyzeRequest& request,
                                         const ExecutionContext& execution,
                                         v1::AnalyzeResponse* response) {
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
  metrics_->RecordAnalyze(input.dtype, count * static_cast<int64_t>(rows.size()),
                          static_cast<int64_t>(input.data.size()), kernel_seconds);
  return absl::OkStatus();
}

grpc::ServerReadReactor<v1::CalibrateRequest>* QuantizerService::Calibrate(
    grpc::CallbackServerContext* context, v1::CalibrateResponse* response) {
  return new CalibrateReactor(context, response, pool_, max_isa_, metrics_);
}

grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>*
QuantizerService::QuantizeStream(grpc::CallbackServerContext* context) {
  return NewQuantizeStream(context, StreamEnvironment{pool_, max_isa_, metrics_, max_buffer_bytes_});
}

grpc::ServerBidiReactor<v1::DequantizeStreamRequest, v1::DequantizeStreamResponse>*
QuantizerService::DequantizeStream(grpc::CallbackServerContext* context) {
  return NewDequantizeStream(context, StreamEnvironment{pool_, max_isa_, metrics_, max_buffer_bytes_});
}

}  // namespace quantd::server
