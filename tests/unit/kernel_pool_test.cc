// The kernel pool runs what it accepts and refuses beyond its bound.
#include "pool/kernel_pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

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

}  // namespace
}  // namespace quantd
