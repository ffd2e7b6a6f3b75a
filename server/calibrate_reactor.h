// The client-streaming Calibrate RPC: options (and states to merge) in the
// first message, one batch per message. Each batch is observed on the
// kernel pool before the next is read, so a stream holds one batch and the
// observer's state, never more; the state dies with the stream.
#ifndef QUANTD_SERVER_CALIBRATE_REACTOR_H_
#define QUANTD_SERVER_CALIBRATE_REACTOR_H_

#include <optional>

#include <grpcpp/grpcpp.h>

#include "quantd/calibrate.h"
#include "quantd/isa.h"
#include "quantd/kernel_pool.h"
#include "quantd/v1/quantd.grpc.pb.h"
#include "server/metrics.h"

namespace quantd::server {

class CalibrateReactor final : public grpc::ServerReadReactor<v1::CalibrateRequest> {
 public:
  CalibrateReactor(grpc::CallbackServerContext* context, v1::CalibrateResponse* response,
                   KernelPool* pool, Isa max_isa, Metrics* metrics);

  void OnReadDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  // Runs `work` on the pool, then reads on or finishes with its error.
  void RunOnPool(std::function<absl::Status(const ExecutionContext&)> work, bool last);
  absl::Status Start(const v1::CalibrateRequest& first);
  absl::Status Observe(const v1::Tensor& batch, const ExecutionContext& execution);
  absl::Status Respond();
  void End(absl::Status status);

  grpc::CallbackServerContext* context_;
  v1::CalibrateResponse* response_;
  KernelPool* pool_;
  Isa max_isa_;
  Metrics* metrics_;
  v1::CalibrateRequest request_;
  absl::Status batch_status_;  // Of the batch the pool observed last.
  std::optional<Calibrator> calibrator_;
  int64_t batches_ = 0;  // Batches received on this stream.
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_CALIBRATE_REACTOR_H_
