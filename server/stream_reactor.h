// A streaming RPC over gRPC: drives a TensorStream (tensor_stream.h), which
// says what the stream does, through a call. One thing at a time: read a
// message, hand any work to the kernel pool, write what the work produced,
// and only then read on; the client's writes wait on gRPC's flow control
// meanwhile.
#ifndef QUANTD_SERVER_STREAM_REACTOR_H_
#define QUANTD_SERVER_STREAM_REACTOR_H_

#include <memory>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "quantd/execution.h"
#include "quantd/kernel_pool.h"
#include "server/grpc_status.h"
#include "server/metrics.h"
#include "server/pool_work.h"
#include "server/tensor_stream.h"

namespace quantd::server {

struct StreamEnvironment {
  KernelPool* pool = nullptr;
  Isa max_isa = Isa::kAvx512Vnni;
  Metrics* metrics = nullptr;
};

template <typename Request, typename Response>
class StreamReactor final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  // Starts reading at once; deletes itself when the call is done.
  StreamReactor(grpc::CallbackServerContext* context, const StreamEnvironment& env,
                std::unique_ptr<TensorStream<Request, Response>> stream)
      : context_(context), env_(env), stream_(std::move(stream)) {
    env_.metrics->inflight_requests.Increment();
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    const absl::Status status = ok ? stream_->Received(request_)
                                : context_->IsCancelled() ? absl::CancelledError("the client cancelled")
                                                          : stream_->InputEnded();
    if (!status.ok()) return End(status);
    Continue();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return End(absl::CancelledError("the client stopped reading"));
    stream_->Written();
    Continue();
  }

  void OnDone() override {
    env_.metrics->inflight_requests.Decrement();
    delete this;
  }

 private:
  using Step = typename TensorStream<Request, Response>::Step;

  void Continue() {
    switch (stream_->Next()) {
      case Step::kRunWork:
        return RunWork();
      case Step::kWrite:
        return this->StartWrite(&stream_->NextResponse());
      case Step::kFinish:
        return End(absl::OkStatus());
      case Step::kRead:
        request_.Clear();
        return this->StartRead(&request_);
    }
  }

  // Runs the stream's work on the pool (never on a gRPC thread), then
  // continues once its pool slot is free (SubmitToPool).
  void RunWork() {
    auto task = [this, work = stream_->TakeWork()] {
      work_status_ = work(CallExecution(context_, env_.pool, env_.max_isa));
    };
    auto next = [this] {
      if (!work_status_.ok()) return End(work_status_);
      Continue();
    };
    if (absl::Status refused = SubmitToPool(env_.pool, env_.metrics, std::move(task), std::move(next));
        !refused.ok()) {
      End(refused);
    }
  }

  void End(const absl::Status& status) {
    if (ended_) return;
    ended_ = true;
    stream_->End();
    this->Finish(ToGrpcStatus(status));
  }

  grpc::CallbackServerContext* context_;
  StreamEnvironment env_;
  std::unique_ptr<TensorStream<Request, Response>> stream_;
  Request request_;
  absl::Status work_status_;  // Of the work the pool ran last.
  bool ended_ = false;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_STREAM_REACTOR_H_
