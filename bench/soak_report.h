// What a soak counts and reports: calls by RPC, mix entry and outcome,
// latencies of verified answers, and the server's resident memory.
#ifndef QUANTD_BENCH_SOAK_REPORT_H_
#define QUANTD_BENCH_SOAK_REPORT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "soak_call.h"

namespace quantd::soak {

using OutcomeCounts = std::array<int64_t, kOutcomeCount>;

// One caller's records, merged at the end.
class Tally {
 public:
  void Add(const CallRecord& record);
  void Merge(const Tally& other);

  int64_t calls() const;
  int64_t count(Outcome outcome) const;
  int64_t bytes() const { return bytes_; }
  const OutcomeCounts& by_rpc(Rpc rpc) const { return by_rpc_[static_cast<int>(rpc)]; }
  const std::map<std::string, OutcomeCounts>& by_what() const { return by_what_; }
  // Seconds of verified calls of `rpc`, ascending after Merge.
  std::vector<double>& latencies(Rpc rpc) { return latencies_[static_cast<int>(rpc)]; }
  // The first few wrong or lost calls, described.
  const std::vector<std::string>& problems() const { return problems_; }

  static constexpr size_t kMaxProblems = 20;

 private:
  std::array<OutcomeCounts, kRpcCount> by_rpc_{};
  std::map<std::string, OutcomeCounts> by_what_;
  std::array<std::vector<double>, kRpcCount> latencies_;
  std::vector<std::string> problems_;
  int64_t bytes_ = 0;
};

// A resident-memory sample: seconds since Start, bytes.
struct RssSample {
  double seconds = 0;
  int64_t bytes = 0;
};

// VmRSS of a process from /proc/<pid>/status, sampled every `period` by a
// thread of its own.
class RssMonitor {
 public:
  explicit RssMonitor(int pid) : pid_(pid) {}
  ~RssMonitor() { Stop(); }
  // Bytes now; nullopt when the process is gone (or pid is 0).
  std::optional<int64_t> Read() const;
  void Start(std::chrono::milliseconds period);
  void Stop();
  int64_t peak() const;
  // At most `points` samples, evenly spaced over the run, and the last.
  std::vector<RssSample> Timeline(size_t points) const;

 private:
  const int pid_;
  mutable std::mutex mutex_;
  std::vector<RssSample> samples_;
  std::atomic<bool> stop_{false};
  std::thread sampler_;
};

struct RssFigures {
  bool measured = false;
  int64_t start = 0, after_warmup = 0, end = 0, peak = 0;
  // After the load and rest_seconds of quiet: what quantd keeps once idle
  // (it gives kept heap back after --idle_release_after).
  int64_t at_rest = 0;
  double rest_seconds = 0;
  bool alive_at_end = true;  // The server process was still there.
  std::vector<RssSample> timeline;
};

// In MB. quantd keeps freed heap for the next large message
// (TuneMallocForLargeMessages), so its RSS rises during warm-up to the
// working set of the load and should then stay flat: growth after warm-up
// is what a leak shows as.
struct SoakLimits {
  double max_rss_warmup_mb = 0;  // after warm-up - start: the working set.
  double max_rss_growth_mb = 0;  // end - after warm-up.
  double max_rss_rest_growth_mb = 0;  // at rest - start.
};

struct SoakSummary {
  double seconds = 0;
  double warmup_seconds = 0;
  int clients = 0;
  int max_large_in_flight = 0;
  uint64_t seed = 0;
  RssFigures rss;
  SoakLimits limits;
  std::vector<std::string> failures;  // Why the soak fails; empty when it passes.
};

// Why `tally` and `summary` fail the soak: wrong or lost answers, nothing
// verified, the server gone, or resident memory beyond the limits.
std::vector<std::string> Failures(const Tally& tally, const SoakSummary& summary);

// The report: a few human lines, then the whole of it as one JSON line.
std::string ReportText(Tally& tally, const SoakSummary& summary);
std::string ReportJson(Tally& tally, const SoakSummary& summary);

}  // namespace quantd::soak

#endif  // QUANTD_BENCH_SOAK_REPORT_H_
