// The Quantizer service on gRPC: each call's work (rpc_handlers.h,
// tensor_stream.h) runs on the kernel pool.
#include "server/quantizer_service.h"

#include <memory>

#include "server/calibrate_reactor.h"
#include "server/grpc_status.h"
#include "server/pool_work.h"
#include "server/rpc_handlers.h"
#include "server/stream_reactor.h"

namespace quantd::server {

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
    return HandleQuantize(*request, execution, *metrics_, response);
  });
}

grpc::ServerUnaryReactor* QuantizerService::Dequantize(grpc::CallbackServerContext* context,
                                                       const v1::DequantizeRequest* request,
                                                       v1::DequantizeResponse* response) {
  return RunOnPool(context, [this, request, response](const ExecutionContext& execution) {
    return HandleDequantize(*request, execution, *metrics_, response);
  });
}

grpc::ServerUnaryReactor* QuantizerService::QuantizedMatMul(grpc::CallbackServerContext* context,
                                                            const v1::MatMulRequest* request,
                                                            v1::MatMulResponse* response) {
  return RunOnPool(context, [this, request, response](const ExecutionContext& execution) {
    return HandleQuantizedMatMul(*request, execution, *metrics_, response);
  });
}

grpc::ServerUnaryReactor* QuantizerService::Analyze(grpc::CallbackServerContext* context,
                                                    const v1::AnalyzeRequest* request,
                                                    v1::AnalyzeResponse* response) {
  return RunOnPool(context, [this, request, response](const ExecutionContext& execution) {
    return HandleAnalyze(*request, execution, *metrics_, response);
  });
}

grpc::ServerReadReactor<v1::CalibrateRequest>* QuantizerService::Calibrate(
    grpc::CallbackServerContext* context, v1::CalibrateResponse* response) {
  return new CalibrateReactor(context, response, pool_, max_isa_, metrics_);
}

grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>*
QuantizerService::QuantizeStream(grpc::CallbackServerContext* context) {
  return QuantizeStream(context, nullptr);
}

grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>*
QuantizerService::QuantizeStream(grpc::CallbackServerContext* context, ReserveBytes reserve) {
  return new StreamReactor(
      context, StreamEnvironment{pool_, max_isa_, metrics_},
      NewQuantizeTensorStream(max_buffer_bytes_, kStreamWindowElements, std::move(reserve)));
}

grpc::ServerBidiReactor<v1::DequantizeStreamRequest, v1::DequantizeStreamResponse>*
QuantizerService::DequantizeStream(grpc::CallbackServerContext* context) {
  return new StreamReactor(context, StreamEnvironment{pool_, max_isa_, metrics_},
                           NewDequantizeTensorStream());
}

}  // namespace quantd::server
