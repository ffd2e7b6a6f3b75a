// One timer thread for every armed call, sleeping until the earliest expiry.
#include "server/deadline_ceiling.h"

#include <vector>

#include "absl/time/time.h"

namespace quantd::server {

DeadlineCeiling::DeadlineCeiling(std::string message, prometheus::Counter* expired)
    : message_(std::move(message)), expired_(expired), thread_([this] { Run(); }) {}

DeadlineCeiling::~DeadlineCeiling() {
  std::map<Key, grpc_call*> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
    left.swap(armed_);
  }
  thread_.join();
  for (const auto& [key, call] : left) grpc_call_unref(call);
}

DeadlineCeiling::Key DeadlineCeiling::Arm(grpc_call* call, Clock::time_point when) {
  grpc_call_ref(call);
  absl::MutexLock lock(&mu_);
  const Key key{when, next_sequence_++};
  const bool earliest = armed_.empty() || key < armed_.begin()->first;
  armed_.emplace(key, call);
  if (earliest) wake_.Signal();
  return key;
}

void DeadlineCeiling::Disarm(const Key& key) {
  grpc_call* call = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = armed_.find(key);
    if (it == armed_.end()) return;  // It has fired already.
    call = it->second;
    armed_.erase(it);
  }
  grpc_call_unref(call);
}

void DeadlineCeiling::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (armed_.empty()) {
      wake_.Wait(&mu_);
      continue;
    }
    const auto first = armed_.begin();
    const Clock::time_point now = Clock::now();
    if (first->first.first > now) {
      wake_.WaitWithTimeout(&mu_, absl::FromChrono(first->first.first - now));
      continue;
    }
    grpc_call* call = first->second;
    armed_.erase(first);
    // gRPC may run the call's completion (and so Disarm, which takes mu_)
    // on this thread from inside the cancel: never hold the lock across it.
    mu_.Unlock();
    // Unlike ServerContext::TryCancel, which always reports CANCELLED, this
    // sends the client DEADLINE_EXCEEDED with the message naming the limit.
    grpc_call_cancel_with_status(call, GRPC_STATUS_DEADLINE_EXCEEDED, message_.c_str(), nullptr);
    grpc_call_unref(call);
    if (expired_ != nullptr) expired_->Increment();
    mu_.Lock();
  }
}

}  // namespace quantd::server
