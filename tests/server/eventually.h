// Waiting for what a server does just after a call: what the gate gives
// back is given back when gRPC releases the call's context, just after the
// client has its answer.
#ifndef QUANTD_TESTS_SERVER_EVENTUALLY_H_
#define QUANTD_TESTS_SERVER_EVENTUALLY_H_

#include <chrono>
#include <thread>

namespace quantd::testing {

// Polls `done` for up to 10 s.
template <typename Predicate>
bool Eventually(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace quantd::testing

#endif  // QUANTD_TESTS_SERVER_EVENTUALLY_H_
