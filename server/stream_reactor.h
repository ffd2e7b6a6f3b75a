// The machinery the streaming RPCs share: one thing at a time. A stream
// reads a message, hands any work to the kernel pool, writes what the work
// produced, and only then reads on, so it holds at most one input window
// and its output, whatever the tensor's size; the client's writes wait on
// gRPC's flow control meanwhile.
#ifndef QUANTD_SERVER_STREAM_REACTOR_H_
#define QUANTD_SERVER_STREAM_REACTOR_H_

#include <deque>
#include <functional>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "quantd/execution.h"
#include "quantd/kernel_pool.h"
#include "server/grpc_status.h"
#include "server/metrics.h"
#include "server/pool_work.h"

namespace quantd::server {

struct StreamEnvironment {
  KernelPool* pool = nullptr;
  Isa max_isa = Isa::kAvx512Vnni;
  Metrics* metrics = nullptr;
  int64_t max_buffer_bytes = 0;
};

template <typename Request, typename Response>
class StreamReactor : public grpc::ServerBidiReactor<Request, Response> {
 public:
  StreamReactor(grpc::CallbackServerContext* context, const StreamEnvironment& env)
      : context_(context), env_(env) {
    env_.metrics->inflight_requests.Increment();
  }

  void Begin() { this->StartRead(&request_); }

  void OnReadDone(bool ok) final {
    const absl::Status status = ok ? OnMessage(request_)
                                : context_->IsCancelled() ? absl::CancelledError("the client cancelled")
                                                          : OnInputEnd();
    if (!status.ok()) return End(status);
    if (work_) return RunWork();
    Continue();
  }

  void OnWriteDone(bool ok) final {
    if (!ok) return End(absl::CancelledError("the client stopped reading"));
    outbox_.pop_front();
    Continue();
  }

  void OnDone() final {
    env_.metrics->inflight_requests.Decrement();
    delete this;
  }

 protected:
  // A message arrived; it may queue responses and set Schedule()'s work.
  virtual absl::Status OnMessage(Request& request) = 0;
  // The client finished writing.
  virtual absl::Status OnInputEnd() = 0;
  // More work, after the queued responses are written (e.g. the next full
  // window): returns false when there is none.
  virtual bool ScheduleMore() { return false; }

  void Schedule(std::function<absl::Status(const ExecutionContext&)> work) { work_ = std::move(work); }
  void Send(Response response) { outbox_.push_back(std::move(response)); }
  void FinishAfterWrites() { finishing_ = true; }
  const StreamEnvironment& env() const { return env_; }

 private:
  // Writes what is queued, then takes on more work, reads on, or finishes.
  void Continue() {
    if (!outbox_.empty()) return this->StartWrite(&outbox_.front());
    if (ScheduleMore() && work_) return RunWork();
    if (finishing_) return End(absl::OkStatus());
    request_.Clear();
    this->StartRead(&request_);
  }

  // Runs work_ on the pool (never on a gRPC thread), then continues once
  // its pool slot is free (SubmitToPool).
  void RunWork() {
    auto task = [this, work = std::move(work_)] {
      work_status_ = work(CallExecution(context_, env_.pool, env_.max_isa));
    };
    auto next = [this] {
      if (!work_status_.ok()) return End(work_status_);
      Continue();
    };
    work_ = nullptr;
    if (absl::Status refused = SubmitToPool(env_.pool, env_.metrics, std::move(task), std::move(next));
        !refused.ok()) {
      End(refused);
    }
  }

  void End(const absl::Status& status) {
    if (ended_) return;
    ended_ = true;
    outbox_.clear();
    Release();
    this->Finish(ToGrpcStatus(status));
  }
  // Frees the stream's buffers as soon as it ends.
  virtual void Release() {}

  grpc::CallbackServerContext* context_;
  StreamEnvironment env_;
  Request request_;
  absl::Status work_status_;  // Of the work the pool ran last.
  std::deque<Response> outbox_;
  std::function<absl::Status(const ExecutionContext&)> work_;
  bool finishing_ = false;
  bool ended_ = false;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_STREAM_REACTOR_H_
