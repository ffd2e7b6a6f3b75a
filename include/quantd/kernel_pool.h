// The one pool of kernel threads that every RPC shares. gRPC threads hand
// work here and return; the pool's queue is bounded so that overload is
// answered at once instead of queuing without limit.
#ifndef QUANTD_KERNEL_POOL_H_
#define QUANTD_KERNEL_POOL_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include <boost/asio/thread_pool.hpp>

namespace quantd {

class KernelPool {
 public:
  // `threads` workers; at most `max_pending` tasks queued or running.
  KernelPool(int threads, int64_t max_pending);
  ~KernelPool();  // Waits for every submitted task.

  KernelPool(const KernelPool&) = delete;
  KernelPool& operator=(const KernelPool&) = delete;

  // Runs `task` on a worker, then `then` (if given) once the task no longer
  // counts as pending: a reply sent from `then` lets the client's next call,
  // which may follow it at once, find the slot free. Returns false, without
  // running either, when max_pending tasks are already queued or running.
  bool TrySubmit(std::function<void()> task, std::function<void()> then = nullptr);

  // Runs fn(block, worker) for every block in [0, blocks): the calling
  // thread takes part and up to threads() pool workers help, handing out
  // blocks through an atomic counter. `worker` is unique among the threads
  // running blocks of this call, in [0, threads()]. Returns false when
  // `cancelled` (polled before each block) stopped it early. Never waits for
  // a helper that has not started, so it cannot deadlock when every worker
  // is itself inside a ParallelFor.
  bool ParallelFor(int64_t blocks, const std::function<void(int64_t block, int worker)>& fn,
                   const std::function<bool()>& cancelled = nullptr);

  int threads() const { return threads_; }
  int64_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  const int threads_;
  const int64_t max_pending_;
  std::atomic<int64_t> pending_{0};
  boost::asio::thread_pool pool_;
};

}  // namespace quantd

#endif  // QUANTD_KERNEL_POOL_H_
