// Calibrate over a stream.
#include "server/calibrate_reactor.h"

#include "server/grpc_status.h"
#include "server/pool_work.h"

namespace quantd::server {

CalibrateReactor::CalibrateReactor(grpc::CallbackServerContext* context,
                                   v1::CalibrateResponse* response, KernelPool* pool, Isa max_isa,
                                   Metrics* metrics)
    : context_(context),
      response_(response),
      pool_(pool),
      max_isa_(max_isa),
      metrics_(metrics),
      session_(*metrics) {
  metrics_->inflight_requests.Increment();
  StartRead(&request_);
}

void CalibrateReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The client closed its side (or the stream broke, which the status of
    // the call reflects): compute the parameters.
    if (context_->IsCancelled()) return End(absl::CancelledError("the client cancelled"));
    return RunOnPool([this](const ExecutionContext&) { return session_.Respond(response_); },
                     /*last=*/true);
  }
  if (absl::Status s = session_.Receive(request_); !s.ok()) return End(s);
  if (!request_.has_batch()) {
    StartRead(&request_);
    return;
  }
  RunOnPool([this](const ExecutionContext& execution) {
    return session_.Observe(request_.batch(), execution);
  }, /*last=*/false);
}

void CalibrateReactor::RunOnPool(std::function<absl::Status(const ExecutionContext&)> work,
                                 bool last) {
  auto task = [this, work = std::move(work)] {
    batch_status_ = work(CallExecution(context_, pool_, max_isa_));
    // The batch is observed: its bytes are not needed any more.
    request_.Clear();
  };
  auto next = [this, last] {
    if (!batch_status_.ok() || last) return End(batch_status_);
    StartRead(&request_);
  };
  if (absl::Status refused = SubmitToPool(pool_, metrics_, std::move(task), std::move(next));
      !refused.ok()) {
    End(refused);
  }
}

void CalibrateReactor::End(absl::Status status) {
  // The observer's state goes now, not when gRPC gets round to OnDone.
  session_.Release();
  metrics_->inflight_requests.Decrement();
  Finish(ToGrpcStatus(status));
}

}  // namespace quantd::server
