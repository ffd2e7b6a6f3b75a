// Counting and reporting a soak; see soak_report.h.
#include "soak_report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "rpc_util.h"

namespace quantd::soak {
namespace {


std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string CountsJson(const OutcomeCounts& counts) {
  int64_t calls = 0;
  std::string out = "{";
  for (int o = 0; o < kOutcomeCount; ++o) {
    absl::StrAppend(&out, "\"", OutcomeName(static_cast<Outcome>(o)), "\": ", counts[o], ", ");
    calls += counts[o];
  }
  return absl::StrCat(out, "\"calls\": ", calls, "}");
}

// Memory in MB (10^6 bytes), the unit of the limits.
double Mb(int64_t bytes) { return static_cast<double>(bytes) / 1e6; }

}  // namespace

void Tally::Add(const CallRecord& record) {
  const int o = static_cast<int>(record.outcome);
  ++by_rpc_[static_cast<int>(record.rpc)][o];
  ++by_what_[record.what][o];
  bytes_ += record.bytes;
  if (record.outcome == Outcome::kVerified) latencies(record.rpc).push_back(record.seconds);
  if ((record.outcome == Outcome::kWrong || record.outcome == Outcome::kLost) &&
      problems_.size() < kMaxProblems) {
    problems_.push_back(absl::StrCat(OutcomeName(record.outcome), " ", record.what, " (",
                                     RpcName(record.rpc), "): ", record.detail));
  }
}

void Tally::Merge(const Tally& other) {
  for (int r = 0; r < kRpcCount; ++r) {
    for (int o = 0; o < kOutcomeCount; ++o) by_rpc_[r][o] += other.by_rpc_[r][o];
    latencies_[r].insert(latencies_[r].end(), other.latencies_[r].begin(), other.latencies_[r].end());
    std::sort(latencies_[r].begin(), latencies_[r].end());
  }
  for (const auto& [what, counts] : other.by_what_) {
    for (int o = 0; o < kOutcomeCount; ++o) by_what_[what][o] += counts[o];
  }
  for (const std::string& p : other.problems_) {
    if (problems_.size() < kMaxProblems) problems_.push_back(p);
  }
  bytes_ += other.bytes_;
}

int64_t Tally::calls() const {
  int64_t total = 0;
  for (int o = 0; o < kOutcomeCount; ++o) total += count(static_cast<Outcome>(o));
  return total;
}

int64_t Tally::count(Outcome outcome) const {
  int64_t total = 0;
  for (const OutcomeCounts& counts : by_rpc_) total += counts[static_cast<int>(outcome)];
  return total;
}

std::optional<int64_t> RssMonitor::Read() const {
  if (pid_ <= 0) return std::nullopt;
  std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    long long kib = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %lld kB", &kib) == 1) return int64_t{kib} * 1024;
  }
  return std::nullopt;  // No such process, or a zombie (no VmRSS line).
}

void RssMonitor::Start(std::chrono::milliseconds period) {
  sampler_ = std::thread([this, period] {
    const auto start = Clock::now();
    while (!stop_.load()) {
      if (std::optional<int64_t> rss = Read()) {
        std::lock_guard<std::mutex> lock(mutex_);
        samples_.push_back({std::chrono::duration<double>(Clock::now() - start).count(), *rss});
      }
      std::this_thread::sleep_for(period);
    }
  });
}

int64_t RssMonitor::peak() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t peak = 0;
  for (const RssSample& s : samples_) peak = std::max(peak, s.bytes);
  return peak;
}

std::vector<RssSample> RssMonitor::Timeline(size_t points) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<RssSample> timeline;
  if (samples_.empty() || points == 0) return timeline;
  const size_t step = std::max<size_t>(1, samples_.size() / points);
  for (size_t i = 0; i < samples_.size(); i += step) timeline.push_back(samples_[i]);
  if (timeline.back().seconds != samples_.back().seconds) timeline.push_back(samples_.back());
  return timeline;
}

void RssMonitor::Stop() {
  stop_.store(true);
  if (sampler_.joinable()) sampler_.join();
}

std::vector<std::string> Failures(const Tally& tally, const SoakSummary& s) {
  std::vector<std::string> failures;
  if (const int64_t n = tally.count(Outcome::kWrong)) failures.push_back(absl::StrCat(n, " wrong answers"));
  if (const int64_t n = tally.count(Outcome::kLost)) failures.push_back(absl::StrCat(n, " lost answers"));
  if (tally.count(Outcome::kVerified) == 0) failures.push_back("no answer was verified");
  if (!s.rss.measured) return failures;
  if (!s.rss.alive_at_end) {
    failures.push_back("the server process was gone at the end");
    return failures;
  }
  const double warmup = Mb(s.rss.after_warmup - s.rss.start);
  const double growth = Mb(s.rss.end - s.rss.after_warmup);
  if (warmup > s.limits.max_rss_warmup_mb) {
    failures.push_back(absl::StrFormat("server RSS grew %.1f MB during warm-up, above %.1f", warmup,
                                       s.limits.max_rss_warmup_mb));
  }
  if (growth > s.limits.max_rss_growth_mb) {
    failures.push_back(absl::StrFormat("server RSS grew %.1f MB after warm-up, above %.1f", growth,
                                       s.limits.max_rss_growth_mb));
  }
  const double rest_growth = Mb(s.rss.at_rest - s.rss.start);
  if (rest_growth > s.limits.max_rss_rest_growth_mb) {
    failures.push_back(absl::StrFormat("server RSS at rest %.0f s after the load is %.1f MB above "
                                       "its start, above %.1f",
                                       s.rss.rest_seconds, rest_growth, s.limits.max_rss_rest_growth_mb));
  }
  return failures;
}

std::string ReportText(Tally& tally, const SoakSummary& s) {
  std::string out = absl::StrFormat(
      "soak: %d clients (at most %d sending > 1 MiB), %.0f s, seed %d: %d calls (%.0f calls/s, %.1f MB/s): %d verified, "
      "%d rejected as malformed, %d cancelled, %d refused, %d wrong, %d lost\n",
      s.clients, s.max_large_in_flight, s.seconds, s.seed, tally.calls(), tally.calls() / s.seconds,
      static_cast<double>(tally.bytes()) / 1e6 / s.seconds, tally.count(Outcome::kVerified),
      tally.count(Outcome::kRejected), tally.count(Outcome::kCancelled),
      tally.count(Outcome::kRefused), tally.count(Outcome::kWrong), tally.count(Outcome::kLost));
  absl::StrAppendFormat(&out, "%-16s %9s %9s %10s %10s\n", "rpc", "calls", "verified", "p50 ms",
                        "p99 ms");
  for (int r = 0; r < kRpcCount; ++r) {
    const Rpc rpc = static_cast<Rpc>(r);
    int64_t calls = 0;
    for (int64_t c : tally.by_rpc(rpc)) calls += c;
    absl::StrAppendFormat(&out, "%-16s %9d %9d %10.2f %10.2f\n", RpcName(rpc), calls,
                          tally.by_rpc(rpc)[static_cast<int>(Outcome::kVerified)],
                          1e3 * bench::Percentile(tally.latencies(rpc), 0.5),
                          1e3 * bench::Percentile(tally.latencies(rpc), 0.99));
  }
  if (s.rss.measured) {
    absl::StrAppendFormat(&out,
                          "server RSS: start %.1f MB, after %.0f s warm-up %.1f MB, end %.1f MB, "
                          "peak %.1f MB (%+.1f MB in warm-up, %+.1f MB after it); at rest "
                          "%.0f s later %.1f MB (%+.1f MB from the start)\n",
                          Mb(s.rss.start), s.warmup_seconds, Mb(s.rss.after_warmup), Mb(s.rss.end),
                          Mb(s.rss.peak), Mb(s.rss.after_warmup - s.rss.start),
                          Mb(s.rss.end - s.rss.after_warmup), s.rss.rest_seconds,
                          Mb(s.rss.at_rest), Mb(s.rss.at_rest - s.rss.start));
    absl::StrAppend(&out, "server RSS over time (s: MB):");
    for (const RssSample& sample : s.rss.timeline) {
      absl::StrAppendFormat(&out, " %.0f: %.0f", sample.seconds, Mb(sample.bytes));
    }
    absl::StrAppend(&out, "\n");
  }
  for (const std::string& p : tally.problems()) absl::StrAppend(&out, "  ", p, "\n");
  absl::StrAppend(&out, s.failures.empty() ? "PASS" : "FAIL: " + absl::StrJoin(s.failures, "; "),
                  "\n");
  return out;
}

std::string ReportJson(Tally& tally, const SoakSummary& s) {
  std::string out = absl::StrFormat(
      "{\"clients\": %d, \"max_large_in_flight\": %d, \"seconds\": %.3f, \"warmup_seconds\": %.3f, \"seed\": %d, \"calls\": %d, "
      "\"calls_per_second\": %.1f, \"mb_per_second\": %.2f, \"bytes\": %d, ",
      s.clients, s.max_large_in_flight, s.seconds, s.warmup_seconds, s.seed, tally.calls(), tally.calls() / s.seconds,
      static_cast<double>(tally.bytes()) / 1e6 / s.seconds, tally.bytes());
  for (int o = 0; o < kOutcomeCount; ++o) {
    absl::StrAppend(&out, "\"", OutcomeName(static_cast<Outcome>(o)), "\": ",
                    tally.count(static_cast<Outcome>(o)), ", ");
  }
  absl::StrAppend(&out, "\"rpcs\": {");
  for (int r = 0; r < kRpcCount; ++r) {
    const Rpc rpc = static_cast<Rpc>(r);
    std::string counts = CountsJson(tally.by_rpc(rpc));
    counts.pop_back();  // The closing brace: latencies follow.
    absl::StrAppendFormat(&out, "%s\"%s\": %s, \"p50_ms\": %.3f, \"p99_ms\": %.3f}", r ? ", " : "",
                          RpcName(rpc), counts, 1e3 * bench::Percentile(tally.latencies(rpc), 0.5),
                          1e3 * bench::Percentile(tally.latencies(rpc), 0.99));
  }
  absl::StrAppend(&out, "}, \"mix\": {");
  bool first = true;
  for (const auto& [what, counts] : tally.by_what()) {
    absl::StrAppend(&out, first ? "" : ", ", JsonString(what), ": ", CountsJson(counts));
    first = false;
  }
  absl::StrAppend(&out, "}, ");
  if (s.rss.measured) {
    absl::StrAppendFormat(
        &out,
        "\"rss_mb\": {\"start\": %.1f, \"after_warmup\": %.1f, \"end\": %.1f, \"peak\": %.1f, "
        "\"at_rest\": %.1f, \"rest_seconds\": %.1f, \"warmup_growth\": %.1f, "
        "\"growth_after_warmup\": %.1f, \"growth_at_rest\": %.1f, \"server_alive\": %s}, ",
        Mb(s.rss.start), Mb(s.rss.after_warmup), Mb(s.rss.end), Mb(s.rss.peak), Mb(s.rss.at_rest),
        s.rss.rest_seconds, Mb(s.rss.after_warmup - s.rss.start),
        Mb(s.rss.end - s.rss.after_warmup), Mb(s.rss.at_rest - s.rss.start),
        s.rss.alive_at_end ? "true" : "false");
    absl::StrAppend(&out, "\"rss_timeline_mb\": [");
    for (size_t i = 0; i < s.rss.timeline.size(); ++i) {
      absl::StrAppendFormat(&out, "%s[%.1f, %.1f]", i ? ", " : "", s.rss.timeline[i].seconds,
                            Mb(s.rss.timeline[i].bytes));
    }
    absl::StrAppend(&out, "], ");
  }
  absl::StrAppendFormat(&out,
                        "\"limits\": {\"max_rss_warmup_mb\": %.1f, \"max_rss_growth_mb\": %.1f, "
                        "\"max_rss_rest_growth_mb\": %.1f}, \"problems\": [",
                        s.limits.max_rss_warmup_mb, s.limits.max_rss_growth_mb,
                        s.limits.max_rss_rest_growth_mb);
  for (size_t i = 0; i < tally.problems().size(); ++i) {
    absl::StrAppend(&out, i ? ", " : "", JsonString(tally.problems()[i]));
  }
  absl::StrAppend(&out, "], \"failures\": [");
  for (size_t i = 0; i < s.failures.size(); ++i) {
    absl::StrAppend(&out, i ? ", " : "", JsonString(s.failures[i]));
  }
  absl::StrAppend(&out, "], \"passed\": ", s.failures.empty() ? "true" : "false", "}");
  return out;
}

}  // namespace quantd::soak
