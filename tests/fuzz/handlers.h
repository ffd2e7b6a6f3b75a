// The server's request handlers without gRPC, for the fuzz targets: the
// same admission estimate (server/held_bytes), conversions
// (server/proto_convert), core calls and metrics, in the order that
// QuantizerService::Do* and CalibrateReactor run them, so that a fuzz input
// reaches the code a request reaches. Keep them in step with
// server/quantizer_service.cc and server/calibrate_reactor.cc.
#ifndef QUANTD_TESTS_FUZZ_HANDLERS_H_
#define QUANTD_TESTS_FUZZ_HANDLERS_H_

#include <span>

#include "absl/status/status.h"
#include "quantd/execution.h"
#include "quantd/kernel_pool.h"
#include "quantd/v1/quantd.pb.h"
#include "server/metrics.h"

namespace quantd::fuzz {

// One server's shared parts: a kernel pool with one helper thread, so that
// the parallel paths (block hand-out, per-worker scratch) run, and the
// metrics that the handlers record into.
class FuzzServer {
 public:
  FuzzServer();

  // `max_isa` caps the kernels, as quantd's --isa does.
  absl::Status Quantize(const v1::QuantizeRequest& request, Isa max_isa,
                        v1::QuantizeResponse* response);
  absl::Status Dequantize(const v1::DequantizeRequest& request, Isa max_isa,
                          v1::DequantizeResponse* response);
  absl::Status Analyze(const v1::AnalyzeRequest& request, Isa max_isa,
                       v1::AnalyzeResponse* response);
  // A Calibrate stream: its messages in order, then the client's half-close.
  absl::Status Calibrate(std::span<const v1::CalibrateRequest> stream, Isa max_isa,
                         v1::CalibrateResponse* response);

  ExecutionContext Context(Isa max_isa);

 private:
  KernelPool pool_;
  server::Metrics metrics_;
};

// The process's one server: built on first use, never destroyed (the pool's
// threads outlive every input).
FuzzServer& Server();

}  // namespace quantd::fuzz

#endif  // QUANTD_TESTS_FUZZ_HANDLERS_H_
