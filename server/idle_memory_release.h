// Gives the heap's free memory back to the system once quantd has been idle
// for a while. Under load quantd keeps freed message buffers
// (TuneMallocForLargeMessages: faulting fresh pages in costs more than the
// kernels), so after a burst of large calls its RSS stays at the burst's
// high-water mark; on a replica that then sits idle, that memory would
// count against its pod for nothing. After `idle` with no call seen and
// none in flight, malloc_trim(0) returns it (once per quiet spell); the
// next large call pays the page faults again.
#ifndef QUANTD_SERVER_IDLE_MEMORY_RELEASE_H_
#define QUANTD_SERVER_IDLE_MEMORY_RELEASE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quantd::server {

class IdleMemoryRelease {
 public:
  // `calls_seen()` counts the calls that ever arrived (from 0), `calls_in_flight()`
  // those not yet done; both are polled a few times per `idle`.
  IdleMemoryRelease(absl::Duration idle, std::function<int64_t()> calls_seen,
                    std::function<int64_t()> calls_in_flight);
  ~IdleMemoryRelease();  // Stops the polling thread.

  IdleMemoryRelease(const IdleMemoryRelease&) = delete;
  IdleMemoryRelease& operator=(const IdleMemoryRelease&) = delete;

  // How many times the memory was given back.
  int64_t releases() const { return releases_.load(); }

 private:
  void Run();

  const absl::Duration idle_;
  const absl::Duration poll_;
  const std::function<int64_t()> calls_seen_;
  const std::function<int64_t()> calls_in_flight_;
  std::atomic<int64_t> releases_{0};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_IDLE_MEMORY_RELEASE_H_
