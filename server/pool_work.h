// Handing an RPC's kernel work to the shared pool: the one place that says
// how the work sees its call (cancellation, kernel level) and how a full
// queue is refused and counted.
#ifndef QUANTD_SERVER_POOL_WORK_H_
#define QUANTD_SERVER_POOL_WORK_H_

#include <functional>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "quantd/execution.h"
#include "quantd/isa.h"
#include "quantd/kernel_pool.h"
#include "server/metrics.h"

namespace quantd::server {

// Work on `pool` at most at `max_isa`. The kernels poll the call between
// blocks, so a cancelled or expired RPC stops using CPU.
ExecutionContext CallExecution(grpc::CallbackServerContext* call, KernelPool* pool, Isa max_isa);

// Queues `task` on the pool, and `reply` to run after it once its slot is
// free again (KernelPool::TrySubmit): a client that sends its next call as
// soon as it has the answer is never refused for the call it just made.
// When the queue is full both are dropped, the refusal counted (reason
// pool_queue_full) and RESOURCE_EXHAUSTED returned for the RPC to finish
// with.
absl::Status SubmitToPool(KernelPool* pool, Metrics* metrics, std::function<void()> task,
                          std::function<void()> reply);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_POOL_WORK_H_
