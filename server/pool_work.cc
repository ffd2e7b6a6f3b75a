// Kernel work of RPCs on the pool.
#include "server/pool_work.h"

#include "absl/strings/str_cat.h"

namespace quantd::server {

ExecutionContext CallExecution(grpc::CallbackServerContext* call, KernelPool* pool, Isa max_isa) {
  ExecutionContext execution;
  execution.pool = pool;
  execution.max_isa = max_isa;
  execution.cancelled = [call] { return call->IsCancelled(); };
  return execution;
}

absl::Status SubmitToPool(KernelPool* pool, Metrics* metrics, std::function<void()> task,
                          std::function<void()> reply) {
  if (pool->TrySubmit(std::move(task), std::move(reply))) return absl::OkStatus();
  metrics->rejected_requests.Add({{"reason", "pool_queue_full"}}).Increment();
  return absl::ResourceExhaustedError(absl::StrCat("the kernel pool's queue is full (",
                                                   pool->pending(),
                                                   " tasks queued or running); retry with backoff"));
}

}  // namespace quantd::server
