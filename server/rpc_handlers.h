// What each Quantizer RPC does with its messages, without gRPC: parse the
// request into the core library's views, validate and run it, fill the
// response and record the domain metrics. The gRPC service
// (quantizer_service.cc, calibrate_reactor.cc) runs these on the kernel
// pool; anything else that must behave as the server does (the fuzz
// targets in tests/fuzz) calls the same functions, so there is one copy of
// every handler.
#ifndef QUANTD_SERVER_RPC_HANDLERS_H_
#define QUANTD_SERVER_RPC_HANDLERS_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "quantd/calibrate.h"
#include "quantd/execution.h"
#include "quantd/v1/quantd.pb.h"
#include "server/metrics.h"

namespace quantd::server {

// The unary RPCs: OK with `response` filled, or the error to answer with.
// They run on the kernel pool (`execution` says which kernels, and when
// to stop).
absl::Status HandleQuantize(const v1::QuantizeRequest& request, const ExecutionContext& execution,
                            Metrics& metrics, v1::QuantizeResponse* response);
absl::Status HandleDequantize(const v1::DequantizeRequest& request,
                              const ExecutionContext& execution, Metrics& metrics,
                              v1::DequantizeResponse* response);
absl::Status HandleQuantizedMatMul(const v1::MatMulRequest& request,
                                   const ExecutionContext& execution, Metrics& metrics,
                                   v1::MatMulResponse* response);
absl::Status HandleAnalyze(const v1::AnalyzeRequest& request, const ExecutionContext& execution,
                           Metrics& metrics, v1::AnalyzeResponse* response);

// One Calibrate stream: options (and states to merge) in the first
// message, at most one batch per message, the parameters at the end.
class CalibrateSession {
 public:
  explicit CalibrateSession(Metrics& metrics) : metrics_(&metrics) {}

  // A message arrived: the first starts the calibration (and merges its
  // states), later ones may not carry options. Whether it has a batch to
  // Observe is the caller's to see (message.has_batch()).
  absl::Status Receive(const v1::CalibrateRequest& message);
  // Observes one batch (kernel work: on the pool). Only after a Receive
  // that returned OK.
  absl::Status Observe(const v1::Tensor& batch, const ExecutionContext& execution);
  // The client's half-close: the parameters, statistics and state.
  absl::Status Respond(v1::CalibrateResponse* response);
  // Frees the observer's state (the stream ended).
  void Release() { calibrator_.reset(); }

 private:
  Metrics* metrics_;
  std::optional<Calibrator> calibrator_;
  int64_t batches_ = 0;  // Batches observed (or refused) on this stream.
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_RPC_HANDLERS_H_
