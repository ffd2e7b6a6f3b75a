// The server's ceiling on how long any call may run (--max_rpc_duration):
// a call armed here that is still running when its time is up is cancelled
// with DEADLINE_EXCEEDED, which stops its kernel work (the kernels poll for
// cancellation) and tells the client which limit it hit.
#ifndef QUANTD_SERVER_DEADLINE_CEILING_H_
#define QUANTD_SERVER_DEADLINE_CEILING_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include <grpc/grpc.h>
#include <prometheus/counter.h>

#include "absl/synchronization/mutex.h"

namespace quantd::server {

class DeadlineCeiling {
 public:
  using Clock = std::chrono::steady_clock;
  // Orders the armed calls by expiry; the sequence number makes keys unique.
  using Key = std::pair<Clock::time_point, uint64_t>;

  // `message` is the status message of every call cut short; `expired`
  // (may be null) counts them.
  DeadlineCeiling(std::string message, prometheus::Counter* expired);
  ~DeadlineCeiling();  // Releases calls still armed without cancelling them.

  DeadlineCeiling(const DeadlineCeiling&) = delete;
  DeadlineCeiling& operator=(const DeadlineCeiling&) = delete;

  // Cancels `call` at `when` unless Disarm(key) comes first. Holds a
  // reference on the call until then, so the timer never touches a freed
  // call however the call and the timer race.
  Key Arm(grpc_call* call, Clock::time_point when);
  void Disarm(const Key& key);

 private:
  void Run();

  const std::string message_;
  prometheus::Counter* const expired_;
  absl::Mutex mu_;
  absl::CondVar wake_;
  std::map<Key, grpc_call*> armed_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_DEADLINE_CEILING_H_
