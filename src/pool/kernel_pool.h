// The one pool of kernel threads that every RPC shares. gRPC threads hand
// work here and return; the pool's queue is bounded so that overload is
// answered at once instead of queuing without limit.
#ifndef QUANTD_POOL_KERNEL_POOL_H_
#define QUANTD_POOL_KERNEL_POOL_H_

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

  // Runs `task` on a worker. Returns false, without running it, when
  // max_pending tasks are already queued or running.
  bool TrySubmit(std::function<void()> task);

  int threads() const { return threads_; }
  int64_t pending() const { return pending_.load(std::memory_order_relaxed); }

 private:
  const int threads_;
  const int64_t max_pending_;
  std::atomic<int64_t> pending_{0};
  boost::asio::thread_pool pool_;
};

}  // namespace quantd

#endif  // QUANTD_POOL_KERNEL_POOL_H_
