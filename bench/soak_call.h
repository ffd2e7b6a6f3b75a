// One call of the soak: who makes it (a Caller), what came of it (a
// CallRecord), and how an answer is judged. The calls themselves are in
// soak_calls.h.
#ifndef QUANTD_BENCH_SOAK_CALL_H_
#define QUANTD_BENCH_SOAK_CALL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "quantd/v1/quantd.grpc.pb.h"
#include "soak_reference.h"

namespace quantd::soak {

using Clock = std::chrono::steady_clock;

// The RPCs the soak reports latencies for. Quantize is split by size, since
// one percentile over 16-byte and 16-MiB requests would describe neither.
enum class Rpc {
  kQuantize,       // Requests up to 1 MiB.
  kQuantizeLarge,  // Above 1 MiB, up to 16 MiB.
  kDequantize,
  kMatMul,
  kAnalyze,
  kCalibrate,
  kQuantizeStream,
};
inline constexpr int kRpcCount = 7;
const char* RpcName(Rpc rpc);

enum class Outcome {
  kVerified,   // OK, and the answer equals the soak's own.
  kRejected,   // A malformed request refused with the documented code and a message.
  kCancelled,  // Cancelled or past its deadline on purpose, and it ended so.
  kRefused,    // RESOURCE_EXHAUSTED: the server's back-pressure, not a loss.
  kWrong,      // An answer (or a status) that contradicts the contract.
  kLost,       // No answer: an unexpected status such as UNAVAILABLE, INTERNAL,
               // UNKNOWN, or DEADLINE_EXCEEDED of a call that was not meant to expire.
};
inline constexpr int kOutcomeCount = 6;
const char* OutcomeName(Outcome outcome);

struct CallRecord {
  Rpc rpc = Rpc::kQuantize;
  Outcome outcome = Outcome::kVerified;
  double seconds = 0;
  int64_t bytes = 0;   // Tensor bytes sent and received.
  std::string what;    // The call's name in the mix.
  std::string detail;  // Why it is wrong or lost.
};

// Normal float32 values with rare outliers, made once and shared read-only
// by every caller: drawing 4M fresh normals per call would cost the client
// more than the server's work.
class ValuePool {
 public:
  ValuePool(int64_t count, uint64_t seed);
  // `count` values from a random place, times a random factor (from 1e-3
  // to 1e3, so that scales vary by orders of magnitude); one time in ten
  // values on a grid that makes rounding ties, rarely all zeros.
  std::vector<float> Draw(std::mt19937_64& rng, int64_t count) const;

 private:
  std::vector<float> values_;
};

// A previous Quantize answer, kept for a Dequantize of its codes.
struct QuantizedTensor {
  Layout layout;
  Target target = Target::kInt8;
  v1::Tensor codes;
  v1::QuantParams params;
};

// How many callers may send a request of more than 1 MiB at once. The
// server keeps a large call's request, answer and transport buffers (up to
// about 60 MiB for 16 MiB of float32) while it runs, and glibc keeps the
// heap at its high-water mark afterwards (TuneMallocForLargeMessages), so
// the server's resident memory measures leaks only when the load's own
// peak is bounded; a caller that finds no slot free sends a medium tensor.
class LargeSlots {
 public:
  explicit LargeSlots(int max) : max_(max) {}
  bool TryTake();
  void Give() { used_.fetch_sub(1); }

 private:
  const int max_;
  std::atomic<int> used_{0};
};

// One of the soak's concurrent clients: its own connection, random stream
// and last answer. Used by one thread.
struct Caller {
  std::unique_ptr<v1::Quantizer::Stub> stub;
  std::mt19937_64 rng;
  const ValuePool* values = nullptr;
  LargeSlots* large_slots = nullptr;
  std::chrono::milliseconds timeout{60000};  // Of calls not meant to expire.
  std::optional<QuantizedTensor> last;
  bool holds_large_slot = false;

  // A context with the ordinary deadline.
  void Prepare(grpc::ClientContext* context) const;
  // Whether this call may send more than 1 MiB: takes a shared slot, kept
  // until EndCall.
  bool TakeLargeSlot();
  void EndCall();
  int64_t Uniform(int64_t lo, int64_t hi);  // In [lo, hi].
  bool OneIn(int n) { return Uniform(1, n) == 1; }
  template <typename T>
  const T& Pick(std::span<const T> items) {
    return items[Uniform(0, static_cast<int64_t>(items.size()) - 1)];
  }
};

// What a call expects of the server.
enum class Expect {
  kAnswer,         // OK with the right answer.
  kInvalid,        // INVALID_ARGUMENT with a message (a malformed request).
  kAnswerOrAbort,  // Cancelled or given a short deadline: CANCELLED or
                   // DEADLINE_EXCEEDED, or OK with the right answer when
                   // the answer won the race.
};

// The record of a call that ended with `status`. `verify` (run only for
// OK) returns what differs from the expected answer, or "" when nothing
// does. For kInvalid, the message must contain `message_part`.
CallRecord Judge(Rpc rpc, const std::string& what, Expect expect, const grpc::Status& status,
                 Clock::time_point start, int64_t bytes,
                 const std::function<std::string()>& verify, const std::string& message_part = "");

// Float32 values as a tensor's little-endian bytes, and back.
std::string FloatBytes(std::span<const float> x);
std::vector<float> FloatsOf(const std::string& bytes);
void SetFloatTensor(std::span<const float> x, std::span<const int64_t> shape, v1::Tensor* tensor);

// "" when `a` and `b` are equal, else where and how they differ.
std::string CompareCodes(const std::string& got, const std::string& expected);
std::string CompareFloats(std::span<const float> got, std::span<const float> expected);
// "" when |got - expected| <= rel * |expected| + abs.
std::string CompareNear(const char* what, double got, double expected, double rel, double abs = 0);

}  // namespace quantd::soak

#endif  // QUANTD_BENCH_SOAK_CALL_H_
