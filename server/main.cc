// quantd: the quantization service. Flags -> ServerOptions -> serve until
// SIGTERM or SIGINT, then drain and exit 0.
#include <csignal>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "quantd/malloc_tuning.h"
#include "server/log.h"
#include "server/quantd_server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "gRPC address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9464",
          "Prometheus /metrics address (host:port; port 0 picks one)");
ABSL_FLAG(int, threads, 0, "kernel pool threads; 0 = one per core");
ABSL_FLAG(int64_t, max_message_bytes, int64_t{256} << 20,
          "largest gRPC message received or sent, in bytes");
ABSL_FLAG(int64_t, max_buffer_bytes, int64_t{1} << 30,
          "bytes one QuantizeStream may buffer when its range must come from the whole tensor "
          "(explicit params stream in a bounded window instead)");
ABSL_FLAG(int64_t, max_pending_tasks, 0,
          "kernel pool queue bound (queued + running); beyond it RPCs get "
          "RESOURCE_EXHAUSTED; 0 = 64 per thread");
ABSL_FLAG(bool, reflection, true, "serve gRPC server reflection");
ABSL_FLAG(std::string, isa, "auto",
          "highest kernel level: auto (the best the CPU supports), avx512_vnni, avx512, "
          "avx2 or scalar; the CPU may cap it further");
ABSL_FLAG(int, shutdown_grace_seconds, 20,
          "on SIGTERM, how long RPCs in flight may take to finish");

// Security (API.md, "Security"); the metrics port stays plain HTTP.
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve gRPC over TLS (needs --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert (unencrypted)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates: require client certificates signed by them (mutual TLS)");
ABSL_FLAG(std::string, auth_token_file, "",
          "file holding a token that every quantd.v1.Quantizer call must send as "
          "'authorization: Bearer <token>' (surrounding whitespace is ignored)");

// Limits: beyond them calls get RESOURCE_EXHAUSTED (or DEADLINE_EXCEEDED).
ABSL_FLAG(int64_t, max_concurrent_rpcs, 256,
          "quantd.v1.Quantizer calls running at once (streams included); 0 = no limit");
ABSL_FLAG(int64_t, max_server_memory_bytes, int64_t{2} << 30,
          "bytes of tensors that calls in flight may hold (gRPC's own buffers may hold this "
          "plus one message per --max_concurrent_rpcs); 0 = no limit, else at least twice "
          "--max_message_bytes");
ABSL_FLAG(absl::Duration, max_rpc_duration, absl::Minutes(10),
          "the longest any quantd.v1.Quantizer call may run, whatever deadline the client set "
          "(e.g. 30s, 10m; inf = no limit)");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(5),
          "after this a connection is sent GOAWAY so that clients reconnect and re-resolve the "
          "name (new replicas get traffic); inf = never");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Minutes(10),
          "how long calls on a connection past its age may still run; inf = as long as they take");
ABSL_FLAG(absl::Duration, idle_release_after, absl::Seconds(5),
          "after this long with no call, give the heap kept for large messages back to the "
          "system; 0 = never");

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
  options.max_buffer_bytes = absl::GetFlag(FLAGS_max_buffer_bytes);
  options.max_pending_tasks = absl::GetFlag(FLAGS_max_pending_tasks);
  options.reflection = absl::GetFlag(FLAGS_reflection);
  options.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key = absl::GetFlag(FLAGS_tls_key);
  options.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  options.auth_token_file = absl::GetFlag(FLAGS_auth_token_file);
  options.max_concurrent_rpcs = absl::GetFlag(FLAGS_max_concurrent_rpcs);
  options.max_server_memory_bytes = absl::GetFlag(FLAGS_max_server_memory_bytes);
  options.max_rpc_duration = absl::GetFlag(FLAGS_max_rpc_duration);
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);
  options.idle_release_after = absl::GetFlag(FLAGS_idle_release_after);
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
