// The client-streaming Calibrate RPC over gRPC: drives a CalibrateSession
// (rpc_handlers.h). Each batch is observed on the kernel pool before the
// next is read, so a stream holds one batch and the observer's state,
// never more; the state dies with the stream.
#ifndef QUANTD_SERVER_CALIBRATE_REACTOR_H_
#define QUANTD_SERVER_CALIBRATE_REACTOR_H_

#include <functional>

#include <grpcpp/grpcpp.h>

#include "quantd/isa.h"
#include "quantd/kernel_pool.h"
#include "quantd/v1/quantd.grpc.pb.h"
#include "server/metrics.h"
#include "server/rpc_handlers.h"

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
  void End(absl::Status status);

  grpc::CallbackServerContext* context_;
  v1::CalibrateResponse* response_;
  KernelPool* pool_;
  Isa max_isa_;
  Metrics* metrics_;
  CalibrateSession session_;
  v1::CalibrateRequest request_;
  absl::Status batch_status_;  // Of the batch the pool observed last.
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_CALIBRATE_REACTOR_H_
