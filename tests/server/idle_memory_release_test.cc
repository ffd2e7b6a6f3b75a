#include "server/idle_memory_release.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "quantd/malloc_tuning.h"

namespace quantd::server {
namespace {

using std::chrono::milliseconds;

struct FakeCalls {
  std::atomic<int64_t> seen{0};
  std::atomic<int64_t> in_flight{0};
};

// Polls for up to 5 s (the machine may be loaded), so the test only waits
// as long as the release takes.
bool EventuallyReleased(const IdleMemoryRelease& release, int64_t count) {
  for (int i = 0; i < 500 && release.releases() < count; ++i) std::this_thread::sleep_for(milliseconds(10));
  return release.releases() >= count;
}

TEST(IdleMemoryReleaseTest, ReleasesOncePerQuietSpellAfterCalls) {
  FakeCalls calls;
  const IdleMemoryRelease release(absl::Milliseconds(50), [&calls] { return calls.seen.load(); },
                                  [&calls] { return calls.in_flight.load(); });
  // No call yet: nothing to give back.
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(release.releases(), 0);
  // A call in flight for longer than the idle time: still nothing.
  calls.seen = 1;
  calls.in_flight = 1;
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(release.releases(), 0);
  // Done: one release, and only one for this quiet spell.
  calls.in_flight = 0;
  ASSERT_TRUE(EventuallyReleased(release, 1));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(release.releases(), 1);
  // Another call, another spell.
  calls.seen = 2;
  ASSERT_TRUE(EventuallyReleased(release, 2));
}

long ResidentKiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// The sanitizers bring their own allocators, which malloc_trim does not reach.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kGlibcMalloc = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kGlibcMalloc = false;
#else
constexpr bool kGlibcMalloc = true;
#endif
#else
constexpr bool kGlibcMalloc = true;
#endif

void* volatile escaped = nullptr;

TEST(IdleMemoryReleaseTest, FreedBuffersLeaveTheProcess) {
  if (!kGlibcMalloc) GTEST_SKIP() << "a sanitizer's allocator: malloc_trim does not apply";
  TuneMallocForLargeMessages();  // As quantd runs: freed blocks are kept.
  constexpr size_t kBytes = size_t{96} << 20;
  const long before = ResidentKiB();
  {
    void* block = std::malloc(kBytes);
    ASSERT_NE(block, nullptr);
    escaped = block;  // Otherwise the compiler may drop the malloc, memset and free.
    std::memset(block, 1, kBytes);
    std::free(escaped);
  }
  const long kept = ResidentKiB();
  ASSERT_GT(kept - before, 64 << 10) << "the freed 96 MiB should still be resident";
  FakeCalls calls;
  const IdleMemoryRelease release(absl::Milliseconds(50), [&calls] { return calls.seen.load(); },
                                  [&calls] { return calls.in_flight.load(); });
  calls.seen = 1;
  ASSERT_TRUE(EventuallyReleased(release, 1));
  EXPECT_LT(ResidentKiB(), kept - (64 << 10)) << "before " << before << " KiB, kept " << kept;
}

}  // namespace
}  // namespace quantd::server
