// quantd_soak: sustained mixed load on a running quantd. --clients callers,
// each on its own connection, make calls picked at random from the mix
// (soak_mix.cc) for --seconds and check every answer against the soak's
// own arithmetic. Prints the report (soak_report.h) and exits 1 when any
// answer was wrong or lost, nothing was verified, or the server's resident
// memory (of --server_pid) grew beyond the limits.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "quantd/malloc_tuning.h"
#include "rpc_util.h"
#include "soak_mix.h"
#include "soak_report.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "the quantd to load");
ABSL_FLAG(int, clients, 16, "concurrent callers, each on its own connection");
ABSL_FLAG(double, seconds, 60, "how long to send");
ABSL_FLAG(uint64_t, seed, 1, "seed of the values and of every caller's choices");
ABSL_FLAG(int, server_pid, 0, "the server's pid, to read its VmRSS; 0: memory is not measured");
ABSL_FLAG(double, warmup_seconds, 0,
          "when the after-warm-up RSS is taken; 0 = a quarter of --seconds, at most 120");
ABSL_FLAG(double, max_rss_warmup_mb, 256,
          "fail when the server's RSS grows more during warm-up, its working set (MB)");
ABSL_FLAG(double, max_rss_growth_mb, 100,
          "fail when the server's RSS grows more from the end of warm-up to the end (MB)");
ABSL_FLAG(double, rest_seconds, 8,
          "after the load, how long the server rests before its at-rest RSS is taken (quantd "
          "gives kept heap back after --idle_release_after, 5 s by default)");
ABSL_FLAG(double, max_rss_rest_growth_mb, 100,
          "fail when the server's RSS at rest is more above its start (MB)");
ABSL_FLAG(int, max_large_in_flight, 2,
          "callers that may send more than 1 MiB at once (the rest send medium tensors "
          "meanwhile); bounds the server's working set, so RSS growth shows leaks");
ABSL_FLAG(double, call_timeout_seconds, 60,
          "deadline of calls not meant to expire; one that does is a lost answer");
ABSL_FLAG(std::string, report_json, "", "also write the JSON report to this file");

namespace quantd::soak {
namespace {

// Values for every caller: enough for the largest tensor (16 MiB of
// float32) drawn at any offset of a further million.
constexpr int64_t kPoolValues = (int64_t{4} << 20) + (int64_t{1} << 20);

int Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const int clients = absl::GetFlag(FLAGS_clients);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  double warmup = absl::GetFlag(FLAGS_warmup_seconds);
  if (warmup <= 0) warmup = std::min(seconds / 4, 120.0);
  if (clients <= 0 || seconds <= 0 || warmup >= seconds) {
    std::fprintf(stderr, "quantd_soak: need --clients > 0 and 0 < --warmup_seconds < --seconds\n");
    return 2;
  }

  const ValuePool values(kPoolValues, seed);
  LargeSlots large_slots(absl::GetFlag(FLAGS_max_large_in_flight));
  std::vector<Caller> callers(clients);
  for (int c = 0; c < clients; ++c) {
    auto channel = bench::LoadChannel(target, c + 1);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      std::fprintf(stderr, "quantd_soak: cannot connect to %s\n", target.c_str());
      return 2;
    }
    callers[c].stub = v1::Quantizer::NewStub(channel);
    callers[c].rng.seed(seed * 1000003 + c);
    callers[c].values = &values;
    callers[c].large_slots = &large_slots;
    callers[c].timeout = std::chrono::milliseconds(
        static_cast<int64_t>(1e3 * absl::GetFlag(FLAGS_call_timeout_seconds)));
  }

  SoakSummary summary;
  summary.clients = clients;
  summary.max_large_in_flight = absl::GetFlag(FLAGS_max_large_in_flight);
  summary.seed = seed;
  summary.warmup_seconds = warmup;
  summary.limits = {absl::GetFlag(FLAGS_max_rss_warmup_mb), absl::GetFlag(FLAGS_max_rss_growth_mb),
                    absl::GetFlag(FLAGS_max_rss_rest_growth_mb)};
  RssMonitor rss(absl::GetFlag(FLAGS_server_pid));
  if (absl::GetFlag(FLAGS_server_pid) != 0) {
    const std::optional<int64_t> start = rss.Read();
    if (!start) {
      std::fprintf(stderr, "quantd_soak: no VmRSS for --server_pid=%d\n", absl::GetFlag(FLAGS_server_pid));
      return 2;
    }
    summary.rss.measured = true;
    summary.rss.start = *start;
    rss.Start(std::chrono::milliseconds(250));
  }

  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<Tally> tallies(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      while (Clock::now() < end) {
        const CallRecord record = RunOneCall(callers[c]);
        if (record.outcome == Outcome::kWrong || record.outcome == Outcome::kLost) {
          std::fprintf(stderr, "quantd_soak: %s %s: %s\n", OutcomeName(record.outcome),
                       record.what.c_str(), record.detail.c_str());
        }
        tallies[c].Add(record);
      }
    });
  }
  std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(warmup)));
  if (summary.rss.measured) summary.rss.after_warmup = rss.Read().value_or(0);
  for (std::thread& t : threads) t.join();
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (summary.rss.measured) {
    // Cancelled calls may still be leaving the server's pool: a moment for
    // them, so that the end figure is the server at rest.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const std::optional<int64_t> last = rss.Read();
    summary.rss.alive_at_end = last.has_value();
    summary.rss.end = last.value_or(0);
    summary.rss.rest_seconds = absl::GetFlag(FLAGS_rest_seconds);
    std::this_thread::sleep_for(std::chrono::duration<double>(summary.rss.rest_seconds));
    const std::optional<int64_t> rested = rss.Read();
    rss.Stop();
    summary.rss.alive_at_end = summary.rss.alive_at_end && rested.has_value();
    summary.rss.at_rest = rested.value_or(0);
    summary.rss.peak = std::max(rss.peak(), summary.rss.end);
    summary.rss.timeline = rss.Timeline(20);
  }

  Tally tally;
  for (const Tally& t : tallies) tally.Merge(t);
  summary.failures = Failures(tally, summary);
  const std::string json = ReportJson(tally, summary);
  std::printf("%s%s\n", ReportText(tally, summary).c_str(), json.c_str());
  if (const std::string path = absl::GetFlag(FLAGS_report_json); !path.empty()) {
    std::ofstream(path) << json << "\n";
  }
  return summary.failures.empty() ? 0 : 1;
}

}  // namespace
}  // namespace quantd::soak

int main(int argc, char** argv) {
  quantd::TuneMallocForLargeMessages();
  absl::SetProgramUsageMessage(
      "quantd_soak: mixed, verified load on a running quantd for a fixed time. Flags:");
  absl::ParseCommandLine(argc, argv);
  return quantd::soak::Run();
}
