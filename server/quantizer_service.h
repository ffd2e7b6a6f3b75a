// quantd.v1.Quantizer on gRPC's callback API. Handlers parse and hand the
// work to the kernel pool; the reactor finishes when the pool is done, so no
// gRPC thread ever runs a kernel loop.
#ifndef QUANTD_SERVER_QUANTIZER_SERVICE_H_
#define QUANTD_SERVER_QUANTIZER_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "quantd/execution.h"
#include "quantd/kernel_pool.h"
#include "quantd/v1/quantd.grpc.pb.h"
#include "server/metrics.h"
#include "server/tensor_stream.h"

namespace quantd::server {

class QuantizerService final : public v1::Quantizer::CallbackService {
 public:
  QuantizerService(KernelPool* pool, Isa max_isa, Metrics* metrics, int64_t max_buffer_bytes)
      : pool_(pool), max_isa_(max_isa), metrics_(metrics), max_buffer_bytes_(max_buffer_bytes) {}

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
  // The same, with the memory a stream buffers reserved through `reserve`.
  grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>*
  QuantizeStream(grpc::CallbackServerContext* context, ReserveBytes reserve);
  grpc::ServerBidiReactor<v1::DequantizeStreamRequest, v1::DequantizeStreamResponse>*
  DequantizeStream(grpc::CallbackServerContext* context) override;

 private:
  // Runs `work` on the pool and finishes the RPC with its status;
  // RESOURCE_EXHAUSTED at once when the pool's queue is full.
  grpc::ServerUnaryReactor* RunOnPool(
      grpc::CallbackServerContext* context,
      std::function<absl::Status(const ExecutionContext&)> work);

  KernelPool* pool_;
  Isa max_isa_;
  Metrics* metrics_;
  int64_t max_buffer_bytes_;  // What QuantizeStream may buffer per stream.
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_QUANTIZER_SERVICE_H_
