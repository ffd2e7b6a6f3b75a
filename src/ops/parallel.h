// Running blocks of a job on the execution context's pool, or inline.
#ifndef QUANTD_OPS_PARALLEL_H_
#define QUANTD_OPS_PARALLEL_H_

#include <algorithm>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "quantd/execution.h"

namespace quantd {

// Elements per block: 256 KiB of float32, a size that stays in L2 and
// amortises the hand-out.
inline constexpr int64_t kBlockElements = int64_t{1} << 16;

inline int64_t BlockCount(int64_t elements) {
  return (elements + kBlockElements - 1) / kBlockElements;
}

// One past the last element of `block` in a tensor of `elements`.
inline int64_t BlockEnd(int64_t elements, int64_t block) {
  return std::min(elements, (block + 1) * kBlockElements);
}

// Workers a context may run at once; per-worker scratch is sized by it.
int WorkerCount(const ExecutionContext& context);

// fn(block, worker) for every block; CANCELLED when the context's
// cancellation fired before all blocks ran.
absl::Status RunBlocks(const ExecutionContext& context, int64_t blocks,
                       const std::function<void(int64_t block, int worker)>& fn);

}  // namespace quantd

#endif  // QUANTD_OPS_PARALLEL_H_
