// API.md: no request may make the server allocate memory in proportion to
// a size it merely claims. Sanitizer allocation hooks count live heap bytes
// (every thread's); a fuzz input whose peak rises above a fixed allowance
// plus a multiple of its own size fails, naming both numbers.
#ifndef QUANTD_TESTS_FUZZ_MEMORY_BUDGET_H_
#define QUANTD_TESTS_FUZZ_MEMORY_BUDGET_H_

#include <cstddef>
#include <cstdint>

namespace quantd::fuzz {

// What any request may use whatever its size: scratch tables, an empty
// tensor's parameter slots (at most 65536), metric series.
inline constexpr int64_t kFixedAllowance = int64_t{64} << 20;
// Per byte of request: the largest output per input byte is FLOAT32 from
// BINARY (32 bytes), held twice when the targets compare kernel levels,
// plus per-slot scratch.
inline constexpr int64_t kBytesPerRequestByte = 256;

// Measures the heap's peak from construction to destruction, and aborts
// when it exceeds the budget of a request of `request_bytes` plus `bound`,
// what the target's operation may hold whatever the request (a calibration's
// histograms are capped, not sized by the batch).
class MemoryBudget {
 public:
  explicit MemoryBudget(size_t request_bytes, int64_t bound = 0);
  ~MemoryBudget();

  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

 private:
  int64_t request_bytes_;
  int64_t bound_;
  int64_t start_;
};

}  // namespace quantd::fuzz

#endif  // QUANTD_TESTS_FUZZ_MEMORY_BUDGET_H_
