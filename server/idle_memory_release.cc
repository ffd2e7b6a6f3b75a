#include "server/idle_memory_release.h"

#include <malloc.h>

#include <algorithm>
#include <utility>

namespace quantd::server {

IdleMemoryRelease::IdleMemoryRelease(absl::Duration idle, std::function<int64_t()> calls_seen,
                                     std::function<int64_t()> calls_in_flight)
    : idle_(idle),
      poll_(std::min(idle / 4, absl::Milliseconds(250))),
      calls_seen_(std::move(calls_seen)),
      calls_in_flight_(std::move(calls_in_flight)),
      thread_([this] { Run(); }) {}

IdleMemoryRelease::~IdleMemoryRelease() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void IdleMemoryRelease::Run() {
  // The quiet spell starts when the count of calls seen last changed with
  // none in flight; a release ends it until another call comes.
  int64_t seen = calls_seen_();
  int64_t released_at = 0;  // Calls count from 0: nothing to give back before the first.
  absl::Time quiet_since = absl::Now();
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), poll_)) {
    const int64_t now_seen = calls_seen_();
    const absl::Time now = absl::Now();
    if (now_seen != seen || calls_in_flight_() > 0) {
      seen = now_seen;
      quiet_since = now;
    } else if (seen != released_at && now - quiet_since >= idle_) {
      malloc_trim(0);
      released_at = seen;
      releases_.fetch_add(1);
    }
  }
}

}  // namespace quantd::server
