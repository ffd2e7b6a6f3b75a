// Admission in a fixed order (token, concurrency, memory, then the duration
// ceiling), with whatever a call took given back when its context goes.
#include "server/call_gate.h"

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"

namespace quantd::server {

// What an admitted call holds, returned by CallGate::Release.
struct CallGate::Held {
  bool slot = false;
  int64_t bytes = 0;
  std::optional<DeadlineCeiling::Key> ceiling;
};

// The context of every callback call on a gated server. gRPC creates it
// through the gate's allocator and deletes it only after the call's OnDone,
// so its destructor is the moment the call stops holding anything.
class GatedContext final : public grpc::CallbackServerContext {
 public:
  explicit GatedContext(CallGate* gate) : gate_(gate) {}
  ~GatedContext() override { gate_->Release(held_); }

  CallGate::Held& held() { return held_; }

 private:
  CallGate* gate_;
  CallGate::Held held_;
};

namespace {

class GatedContextAllocator final : public grpc::ContextAllocator {
 public:
  explicit GatedContextAllocator(CallGate* gate) : gate_(gate) {}
  grpc::CallbackServerContext* NewCallbackServerContext() override {
    return new GatedContext(gate_);
  }
  // gRPC also passes here the contexts it built itself (for the generic
  // handler that answers unknown methods, this allocator making no generic
  // contexts): only ours are ours to delete.
  void Release(grpc::CallbackServerContext* context) override {
    delete dynamic_cast<GatedContext*>(context);
  }

 private:
  CallGate* gate_;
};

prometheus::Counter* Rejected(Metrics* metrics, const char* reason) {
  return &metrics->rejected_requests.Add({{"reason", reason}});
}

}  // namespace

CallGate::CallGate(const CallLimits& limits, std::optional<BearerToken> token, Metrics* metrics)
    : limits_(limits),
      token_(std::move(token)),
      unauthenticated_(Rejected(metrics, "unauthenticated")),
      over_concurrency_(Rejected(metrics, "concurrency_limit")),
      over_memory_(Rejected(metrics, "memory_limit")),
      draining_counter_(Rejected(metrics, "draining")) {
  if (limits_.max_rpc_duration != absl::InfiniteDuration()) {
    ceiling_ = std::make_unique<DeadlineCeiling>(
        absl::StrCat("the call ran longer than --max_rpc_duration=",
                     absl::FormatDuration(limits_.max_rpc_duration),
                     ", the server's limit on any call; send less work per call (the "
                     "streaming RPCs split large tensors)"),
        Rejected(metrics, "max_rpc_duration"));
  }
}

std::unique_ptr<grpc::ContextAllocator> CallGate::NewContextAllocator() {
  return std::make_unique<GatedContextAllocator>(this);
}

grpc::Status CallGate::Refuse(prometheus::Counter* counter, grpc::StatusCode code,
                              std::string message) {
  counter->Increment();
  return grpc::Status(code, std::move(message));
}

bool CallGate::TryHoldBytes(int64_t bytes, int64_t* held_now) {
  int64_t held = held_bytes_.load();
  do {
    *held_now = held;
    if (bytes > limits_.max_server_memory_bytes - held) return false;
  } while (!held_bytes_.compare_exchange_weak(held, held + bytes));
  return true;
}

grpc::Status CallGate::Admit(grpc::CallbackServerContext* context, int64_t held_bytes) {
  auto* gated = dynamic_cast<GatedContext*>(context);
  if (gated == nullptr) {
    // Fail closed: without the gate's contexts nothing could be given back.
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "the server was built without its call gate's context allocator");
  }
  calls_seen_.fetch_add(1);
  if (draining_.load()) {
    return Refuse(draining_counter_, grpc::StatusCode::UNAVAILABLE,
                  "quantd is draining (it received SIGTERM) and takes no new calls; retry on "
                  "another replica");
  }
  if (token_.has_value()) {
    if (grpc::Status status = token_->Check(context->client_metadata()); !status.ok()) {
      unauthenticated_->Increment();
      return status;
    }
  }
  Held& held = gated->held();
  // Every admitted call is counted, so that a drain knows when none is left.
  if (concurrent_.fetch_add(1) >= limits_.max_concurrent_rpcs && limits_.max_concurrent_rpcs > 0) {
    concurrent_.fetch_sub(1);
    return Refuse(over_concurrency_, grpc::StatusCode::RESOURCE_EXHAUSTED,
                    absl::StrCat("the server already runs ", limits_.max_concurrent_rpcs,
                                 " calls, its limit (--max_concurrent_rpcs=",
                                 limits_.max_concurrent_rpcs, "); retry with backoff"));
  }
  held.slot = true;
  if (limits_.max_server_memory_bytes > 0) {
    int64_t held_now = 0;
    if (!TryHoldBytes(held_bytes, &held_now)) {
      Release(held);
      held = Held{};
      return MemoryRefusal(held_bytes, held_now);
    }
    held.bytes = held_bytes;
  }
  if (ceiling_ != nullptr) {
    // Only calls whose own deadline is later than the ceiling need the timer;
    // gRPC enforces earlier deadlines itself.
    const auto own = context->deadline();
    const auto now = std::chrono::system_clock::now();
    const auto ceiling = absl::ToChronoNanoseconds(limits_.max_rpc_duration);
    if (own > now && own - now > ceiling) {
      held.ceiling = ceiling_->Arm(context->c_call(), DeadlineCeiling::Clock::now() + ceiling);
    }
  }
  return grpc::Status::OK;
}

grpc::Status CallGate::MemoryRefusal(int64_t bytes, int64_t held_now) {
  const int64_t limit = limits_.max_server_memory_bytes;
  return Refuse(
      over_memory_, grpc::StatusCode::RESOURCE_EXHAUSTED,
      bytes > limit
          ? absl::StrCat("this call's tensors need ", bytes,
                         " bytes (request and response), more than the server's limit of ", limit,
                         " (--max_server_memory_bytes=", limit, "); send less per call")
          : absl::StrCat("this call's tensors need ", bytes, " bytes, calls in flight hold ",
                         held_now, ", and the server's limit is ", limit,
                         " (--max_server_memory_bytes=", limit, "); retry with backoff"));
}

grpc::Status CallGate::HoldMore(grpc::CallbackServerContext* context, int64_t bytes) {
  auto* gated = dynamic_cast<GatedContext*>(context);
  if (gated == nullptr || limits_.max_server_memory_bytes <= 0 || bytes <= 0) return grpc::Status::OK;
  int64_t held_now = 0;
  if (!TryHoldBytes(bytes, &held_now)) return MemoryRefusal(bytes, held_now);
  gated->held().bytes += bytes;
  return grpc::Status::OK;
}

void CallGate::Release(Held& held) {
  if (held.ceiling.has_value()) ceiling_->Disarm(*held.ceiling);
  if (held.slot) concurrent_.fetch_sub(1);
  if (held.bytes > 0) held_bytes_.fetch_sub(held.bytes);
}

}  // namespace quantd::server
