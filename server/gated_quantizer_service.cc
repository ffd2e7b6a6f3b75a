// Admit, then forward; or finish at once with the gate's status.
#include "server/gated_quantizer_service.h"

#include <utility>

#include "server/grpc_status.h"
#include "server/held_bytes.h"

namespace quantd::server {
namespace {

grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* context, grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

// A streaming call refused before its handler: finishes as soon as it starts.
template <typename Reactor>
class RefusedReactor final : public Reactor {
 public:
  explicit RefusedReactor(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* GatedQuantizerService::Quantize(grpc::CallbackServerContext* context,
                                                          const v1::QuantizeRequest* request,
                                                          v1::QuantizeResponse* response) {
  grpc::Status admitted = gate_->Admit(context, HeldBytes(*request));
  if (!admitted.ok()) return Refuse(context, std::move(admitted));
  return service_->Quantize(context, request, response);
}

grpc::ServerUnaryReactor* GatedQuantizerService::Dequantize(grpc::CallbackServerContext* context,
                                                            const v1::DequantizeRequest* request,
                                                            v1::DequantizeResponse* response) {
  grpc::Status admitted = gate_->Admit(context, HeldBytes(*request));
  if (!admitted.ok()) return Refuse(context, std::move(admitted));
  return service_->Dequantize(context, request, response);
}

grpc::ServerUnaryReactor* GatedQuantizerService::QuantizedMatMul(
    grpc::CallbackServerContext* context, const v1::MatMulRequest* request,
    v1::MatMulResponse* response) {
  grpc::Status admitted = gate_->Admit(context, HeldBytes(*request));
  if (!admitted.ok()) return Refuse(context, std::move(admitted));
  return service_->QuantizedMatMul(context, request, response);
}

grpc::ServerUnaryReactor* GatedQuantizerService::Analyze(grpc::CallbackServerContext* context,
                                                         const v1::AnalyzeRequest* request,
                                                         v1::AnalyzeResponse* response) {
  grpc::Status admitted = gate_->Admit(context, HeldBytes(*request));
  if (!admitted.ok()) return Refuse(context, std::move(admitted));
  return service_->Analyze(context, request, response);
}

// Streams charge nothing up front: their messages arrive later, and the
// streaming handlers bound what they buffer themselves. A QuantizeStream
// that buffers a whole tensor reserves it once its header says how large
// it is.
grpc::ServerReadReactor<v1::CalibrateRequest>* GatedQuantizerService::Calibrate(
    grpc::CallbackServerContext* context, v1::CalibrateResponse* response) {
  grpc::Status admitted = gate_->Admit(context, 0);
  if (!admitted.ok()) {
    return new RefusedReactor<grpc::ServerReadReactor<v1::CalibrateRequest>>(std::move(admitted));
  }
  return service_->Calibrate(context, response);
}

grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>*
GatedQuantizerService::QuantizeStream(grpc::CallbackServerContext* context) {
  grpc::Status admitted = gate_->Admit(context, 0);
  if (!admitted.ok()) {
    return new RefusedReactor<
        grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>>(
        std::move(admitted));
  }
  CallGate* gate = gate_;
  return service_->QuantizeStream(context, [gate, context](int64_t bytes) {
    return FromGrpcStatus(gate->HoldMore(context, bytes));
  });
}

grpc::ServerBidiReactor<v1::DequantizeStreamRequest, v1::DequantizeStreamResponse>*
GatedQuantizerService::DequantizeStream(grpc::CallbackServerContext* context) {
  grpc::Status admitted = gate_->Admit(context, 0);
  if (!admitted.ok()) {
    return new RefusedReactor<
        grpc::ServerBidiReactor<v1::DequantizeStreamRequest, v1::DequantizeStreamResponse>>(
        std::move(admitted));
  }
  return service_->DequantizeStream(context);
}

}  // namespace quantd::server
