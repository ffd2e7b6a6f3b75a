// A bounded front to a Boost.Asio thread pool, and block-parallel loops on it.
#include "quantd/kernel_pool.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>

#include <boost/asio/post.hpp>

namespace quantd {
namespace {

// Shared by the caller and its helpers; helpers that start after the loop
// ended find no block left and touch nothing but this state.
struct LoopState {
  int64_t blocks = 0;
  const std::function<void(int64_t, int)>* fn = nullptr;
  const std::function<bool()>* cancelled = nullptr;
  std::atomic<int64_t> next{0};
  std::atomic<bool> stopped{false};
  std::mutex mu;
  std::condition_variable all_done;
  int64_t done = 0;  // Guarded by mu.

  // Claims and runs blocks until none is left.
  void Work(int worker) {
    for (int64_t block; (block = next.fetch_add(1)) < blocks;) {
      if (!stopped.load(std::memory_order_relaxed) && *cancelled && (*cancelled)()) {
        stopped.store(true);
      }
      if (!stopped.load(std::memory_order_relaxed)) (*fn)(block, worker);
      std::lock_guard lock(mu);
      if (++done == blocks) all_done.notify_all();
    }
  }
};

}  // namespace

KernelPool::KernelPool(int threads, int64_t max_pending)
    : threads_(threads), max_pending_(max_pending), pool_(threads) {}

KernelPool::~KernelPool() { pool_.join(); }

bool KernelPool::TrySubmit(std::function<void()> task, std::function<void()> then) {
  if (pending_.fetch_add(1, std::memory_order_relaxed) >= max_pending_) {
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  boost::asio::post(pool_, [this, task = std::move(task), then = std::move(then)] {
    task();
    pending_.fetch_sub(1, std::memory_order_relaxed);
    if (then) then();
  });
  return true;
}

bool KernelPool::ParallelFor(int64_t blocks, const std::function<void(int64_t, int)>& fn,
                             const std::function<bool()>& cancelled) {
  if (blocks <= 0) return true;
  auto state = std::make_shared<LoopState>();
  state->blocks = blocks;
  state->fn = &fn;
  state->cancelled = &cancelled;
  // Helpers are not counted against max_pending: they only speed up work
  // that was already admitted.
  const int helpers = static_cast<int>(std::min<int64_t>(threads_, blocks - 1));
  for (int h = 1; h <= helpers; ++h) {
    boost::asio::post(pool_, [state, h] { state->Work(h); });
  }
  state->Work(0);
  std::unique_lock lock(state->mu);
  state->all_done.wait(lock, [&] { return state->done == blocks; });
  return !state->stopped.load();
}

}  // namespace quantd
