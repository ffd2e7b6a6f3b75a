// Block loops on the kernel pool, with cancellation between blocks.
#include "ops/parallel.h"

#include "quantd/kernel_pool.h"

namespace quantd {

int WorkerCount(const ExecutionContext& context) {
  return context.pool != nullptr ? context.pool->threads() + 1 : 1;
}

absl::Status RunBlocks(const ExecutionContext& context, int64_t blocks,
                       const std::function<void(int64_t, int)>& fn) {
  bool completed = true;
  if (context.pool != nullptr) {
    completed = context.pool->ParallelFor(blocks, fn, context.cancelled);
  } else {
    for (int64_t b = 0; b < blocks && completed; ++b) {
      if (context.cancelled && context.cancelled()) {
        completed = false;
      } else {
        fn(b, 0);
      }
    }
  }
  return completed ? absl::OkStatus()
                   : absl::CancelledError("the request was cancelled; its work stopped");
}

}  // namespace quantd
