// The kernel pool runs what it accepts and refuses beyond its bound.
#include "quantd/kernel_pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace quantd {
namespace {

TEST(KernelPoolTest, RunsEveryAcceptedTask) {
  std::atomic<int> ran{0};
  {
    KernelPool pool(2, 1000);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
  }  // The destructor waits for all of them.
  EXPECT_EQ(ran.load(), 100);
}

TEST(KernelPoolTest, RefusesBeyondTheBoundAndRecovers) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  KernelPool pool(1, 2);
  auto blocker = [&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
  };
  ASSERT_TRUE(pool.TrySubmit(blocker));
  ASSERT_TRUE(pool.TrySubmit(blocker));
  EXPECT_FALSE(pool.TrySubmit([] {}));
  EXPECT_EQ(pool.pending(), 2);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  while (pool.pending() > 0) std::this_thread::yield();
  EXPECT_TRUE(pool.TrySubmit([] {}));
}

TEST(KernelPoolTest, ThenRunsOnceTheTaskNoLongerCounts) {
  // A reply sent from `then` may bring the client's next call at once: by
  // then the finished task must have given its slot back.
  KernelPool pool(1, 1);
  std::atomic<int> ran{0};
  std::atomic<int64_t> pending_in_then{-1};
  std::atomic<bool> next_admitted{false};
  ASSERT_TRUE(pool.TrySubmit([&] { ++ran; },
                             [&] {
                               pending_in_then = pool.pending();
                               next_admitted = pool.TrySubmit([&] { ++ran; });
                             }));
  while (ran.load() < 2) std::this_thread::yield();
  EXPECT_EQ(pending_in_then.load(), 0);
  EXPECT_TRUE(next_admitted.load());
}

}  // namespace
}  // namespace quantd

namespace quantd {
namespace {

TEST(ParallelForTest, RunsEveryBlockOnceWithDistinctWorkers) {
  KernelPool pool(3, 10);
  std::vector<std::atomic<int>> runs(1000);
  std::vector<std::atomic<int>> per_worker(pool.threads() + 1);
  EXPECT_TRUE(pool.ParallelFor(1000, [&](int64_t block, int worker) {
    ++runs[block];
    ASSERT_GE(worker, 0);
    ASSERT_LE(worker, pool.threads());
    ++per_worker[worker];
  }));
  for (auto& r : runs) EXPECT_EQ(r.load(), 1);
}

TEST(ParallelForTest, CancellationStopsBetweenBlocks) {
  KernelPool pool(2, 10);
  std::atomic<int> ran{0};
  std::atomic<bool> cancel{false};
  const bool completed = pool.ParallelFor(
      100000,
      [&](int64_t, int) {
        if (++ran == 10) cancel = true;
      },
      [&] { return cancel.load(); });
  EXPECT_FALSE(completed);
  EXPECT_LT(ran.load(), 100);  // Only blocks already claimed finish.
}

TEST(ParallelForTest, NestedInsideEveryWorkerDoesNotDeadlock) {
  // Every worker runs a task that itself runs a ParallelFor whose helpers
  // queue behind those tasks: the callers must finish the blocks alone.
  KernelPool pool(2, 100);
  std::atomic<int> total{0};
  for (int t = 0; t < 6; ++t) {
    ASSERT_TRUE(pool.TrySubmit([&] {
      pool.ParallelFor(50, [&](int64_t, int) { ++total; });
    }));
  }
  while (pool.pending() > 0) std::this_thread::yield();
  EXPECT_EQ(total.load(), 300);
}

}  // namespace
}  // namespace quantd
