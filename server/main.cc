// quantd: the quantization service. Flags -> ServerOptions -> serve until
// SIGTERM or SIGINT, then drain and exit 0.
#include <csignal>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "quantd/malloc_tuning.h"
#include "server/log.h"
#include "server/quantd_server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "gRPC address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9464",
          "Prometheus /metrics address (host:port; port 0 picks one)");
ABSL_FLAG(int, threads, 0, "kernel pool threads; 0 = one per core");
ABSL_FLAG(int64_t, max_message_bytes, int64_t{256} << 20,
          "largest gRPC message received or sent, in bytes");
ABSL_FLAG(int64_t, max_pending_tasks, 0,
          "kernel pool queue bound (queued + running); beyond it RPCs get "
          "RESOURCE_EXHAUSTED; 0 = 64 per thread");
ABSL_FLAG(bool, reflection, true, "serve gRPC server reflection");
ABSL_FLAG(std::string, isa, "auto",
          "highest kernel level: auto (the best the CPU supports), avx512_vnni, avx512, "
          "avx2 or scalar; the CPU may cap it further");
ABSL_FLAG(int, shutdown_grace_seconds, 20,
          "on SIGTERM, how long RPCs in flight may take to finish");

int main(int argc, char** argv) {
  quantd::TuneMallocForLargeMessages();
  absl::SetProgramUsageMessage("quantd: a gRPC quantization service. Flags:");
  absl::ParseCommandLine(argc, argv);

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  quantd::server::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.max_pending_tasks = absl::GetFlag(FLAGS_max_pending_tasks);
  options.reflection = absl::GetFlag(FLAGS_reflection);
  if (const std::string isa = absl::GetFlag(FLAGS_isa); isa != "auto") {
    auto parsed = quantd::ParseIsa(isa);
    if (!parsed.ok()) {
      quantd::server::Log(absl::StrCat("quantd: --isa: ", parsed.status().message()));
      return 2;
    }
    options.max_isa = *parsed;
  }
  auto server = quantd::server::QuantdServer::Start(options);
  if (!server.ok()) {
    quantd::server::Log(absl::StrCat("quantd: cannot start: ", server.status().message()));
    return 1;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  const int grace = absl::GetFlag(FLAGS_shutdown_grace_seconds);
  quantd::server::Log(absl::StrCat("quantd: received ", strsignal(signal_number),
                                   ", draining (grace ", grace, " s)"));
  (*server)->Drain(std::chrono::seconds(grace));
  quantd::server::Log("quantd: drained, exiting");
  return 0;
}
