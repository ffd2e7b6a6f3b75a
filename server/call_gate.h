// What every quantd.v1.Quantizer call passes before its handler runs: the
// bearer token (--auth_token_file), the concurrency limit
// (--max_concurrent_rpcs), the memory its tensors will hold
// (--max_server_memory_bytes), and the ceiling on its duration
// (--max_rpc_duration). Health and reflection do not pass through it.
//
// An admitted call holds a slot and its bytes until gRPC releases its
// context, after the call is done; the gate's context allocator makes every
// call's context one that gives them back.
#ifndef QUANTD_SERVER_CALL_GATE_H_
#define QUANTD_SERVER_CALL_GATE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>
#include <prometheus/counter.h>

#include "absl/time/time.h"
#include "server/bearer_token.h"
#include "server/deadline_ceiling.h"
#include "server/metrics.h"

namespace quantd::server {

struct CallLimits {
  int64_t max_concurrent_rpcs = 0;      // 0: no limit.
  int64_t max_server_memory_bytes = 0;  // 0: no limit.
  absl::Duration max_rpc_duration = absl::InfiniteDuration();
};

class CallGate {
 public:
  // `token` empty: calls need no token. `metrics` counts the refusals in
  // quantd_rejected_requests_total{reason}.
  CallGate(const CallLimits& limits, std::optional<BearerToken> token, Metrics* metrics);

  CallGate(const CallGate&) = delete;
  CallGate& operator=(const CallGate&) = delete;

  // OK, or the status to finish the call with at once: UNAUTHENTICATED, or
  // RESOURCE_EXHAUSTED naming the limit and the numbers. `held_bytes` is
  // what the call's request and response will hold in memory.
  grpc::Status Admit(grpc::CallbackServerContext* context, int64_t held_bytes);

  // For a call already admitted that learns it will hold `bytes` more (a
  // stream that buffers a whole tensor): OK and held until the call ends,
  // or RESOURCE_EXHAUSTED as Admit refuses memory.
  grpc::Status HoldMore(grpc::CallbackServerContext* context, int64_t bytes);

  // For ServerBuilder::SetContextAllocator; the gate must outlive the server.
  std::unique_ptr<grpc::ContextAllocator> NewContextAllocator();

  // From now on every call is refused with UNAVAILABLE, so that clients
  // retry elsewhere; calls already admitted run on.
  void StartDraining() { draining_.store(true); }

  int64_t concurrent_rpcs() const { return concurrent_.load(); }
  // Every call that came to the gate, admitted or not.
  int64_t calls_seen() const { return calls_seen_.load(); }
  int64_t held_bytes() const { return held_bytes_.load(); }

 private:
  friend class GatedContext;
  struct Held;
  void Release(Held& held);
  grpc::Status Refuse(prometheus::Counter* counter, grpc::StatusCode code, std::string message);
  bool TryHoldBytes(int64_t bytes, int64_t* held_now);
  grpc::Status MemoryRefusal(int64_t bytes, int64_t held_now);

  const CallLimits limits_;
  const std::optional<BearerToken> token_;
  prometheus::Counter* const unauthenticated_;
  prometheus::Counter* const over_concurrency_;
  prometheus::Counter* const over_memory_;
  prometheus::Counter* const draining_counter_;
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> concurrent_{0};
  std::atomic<int64_t> calls_seen_{0};
  std::atomic<int64_t> held_bytes_{0};
  std::unique_ptr<DeadlineCeiling> ceiling_;  // Null without --max_rpc_duration.
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_CALL_GATE_H_
