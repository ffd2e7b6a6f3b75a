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

// Queues `task` on the pool. When the queue is full the task is dropped,
// the refusal counted (reason pool_queue_full) and RESOURCE_EXHAUSTED
// returned for the RPC to finish with.
absl::Status SubmitToPool(KernelPool* pool, Metrics* metrics, std::function<void()> task);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_POOL_WORK_H_
