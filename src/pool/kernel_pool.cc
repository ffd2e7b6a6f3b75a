// A bounded front to a Boost.Asio thread pool.
#include "pool/kernel_pool.h"

#include <boost/asio/post.hpp>

namespace quantd {

KernelPool::KernelPool(int threads, int64_t max_pending)
    : threads_(threads), max_pending_(max_pending), pool_(threads) {}

KernelPool::~KernelPool() { pool_.join(); }

bool KernelPool::TrySubmit(std::function<void()> task) {
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_pending_) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  boost::asio::post(pool_, [this, task = std::move(task)] {
    task();
    pending_.fetch_sub(1, std::memory_order_relaxed);
  });
  return true;
}

}  // namespace quantd
