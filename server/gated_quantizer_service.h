// quantd.v1.Quantizer as served: every call passes the call gate (token,
// concurrency, memory, duration ceiling) and is then handed to the
// QuantizerService that does the work. A refused call is finished at once
// and its handler never runs.
//
// Why a forwarding service rather than a server interceptor: in gRPC 1.51 a
// server interceptor cannot finish a call with a status of its choosing
// (Hijack is for client interceptors only), and cancelling from one leaves
// the handler running on the cancelled call. A check at the top of each
// handler would do, but would spread over the file that implements the
// RPCs. Here every method is gated in one place, and the test that calls
// every method of the service descriptor without a token catches a method
// added to the proto but not forwarded (it would answer UNIMPLEMENTED with
// an empty message, never reaching a handler: it fails closed).
#ifndef QUANTD_SERVER_GATED_QUANTIZER_SERVICE_H_
#define QUANTD_SERVER_GATED_QUANTIZER_SERVICE_H_

#include "quantd/v1/quantd.grpc.pb.h"
#include "server/call_gate.h"
#include "server/quantizer_service.h"

namespace quantd::server {

class GatedQuantizerService final : public v1::Quantizer::CallbackService {
 public:
  // Both must outlive the server.
  GatedQuantizerService(CallGate* gate, QuantizerService* service)
      : gate_(gate), service_(service) {}

  grpc::ServerUnaryReactor* Quantize(grpc::CallbackServerContext* context,
                                     const v1::QuantizeRequest* request,
                                     v1::QuantizeResponse* response) override;
  grpc::ServerUnaryReactor* Dequantize(grpc::CallbackServerContext* context,
                                       const v1::DequantizeRequest* request,
                                       v1::DequantizeResponse* response) override;
  grpc::ServerUnaryReactor* QuantizedMatMul(grpc::CallbackServerContext* context,
                                            const v1::MatMulRequest* request,
                                            v1::MatMulResponse* response) override;
  grpc::ServerUnaryReactor* Analyze(grpc::CallbackServerContext* context,
                                    const v1::AnalyzeRequest* request,
                                    v1::AnalyzeResponse* response) override;
  grpc::ServerReadReactor<v1::CalibrateRequest>* Calibrate(
      grpc::CallbackServerContext* context, v1::CalibrateResponse* response) override;
  grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>*
  QuantizeStream(grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<v1::DequantizeStreamRequest, v1::DequantizeStreamResponse>*
  DequantizeStream(grpc::CallbackServerContext* context) override;

 private:
  CallGate* gate_;
  QuantizerService* service_;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_GATED_QUANTIZER_SERVICE_H_
