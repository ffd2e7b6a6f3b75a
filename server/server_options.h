// What a quantd server is configured with; main() fills it from flags.
#ifndef QUANTD_SERVER_SERVER_OPTIONS_H_
#define QUANTD_SERVER_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "quantd/isa.h"

namespace quantd::server {

struct ServerOptions {
  std::string listen = "0.0.0.0:50051";        // gRPC; port 0 picks a free port.
  std::string metrics_listen = "0.0.0.0:9464";  // Prometheus text; port 0 picks one.
  int threads = 0;                              // Kernel pool size; 0 = the cores.
  int64_t max_message_bytes = int64_t{256} << 20;
  // What one QuantizeStream may buffer when its range needs the whole tensor.
  int64_t max_buffer_bytes = int64_t{1} << 30;
  int64_t max_pending_tasks = 0;  // Pool queue bound; 0 = 64 per thread.
  bool reflection = true;
  // The highest kernel level allowed; the CPU may cap it further.
  Isa max_isa = Isa::kAvx512Vnni;

  // Security. PEM files; all empty = plaintext. cert + key = TLS; with
  // client_ca too = mutual TLS.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // When set, quantd.v1.Quantizer calls need "authorization: Bearer <token>".
  std::string auth_token_file;

  // Limits; 0 or an infinite duration turns one off.
  int64_t max_concurrent_rpcs = 256;
  // Tensors held by calls in flight (and, with the concurrency limit, the
  // bound of gRPC's own buffers: GrpcBufferQuotaBytes).
  int64_t max_server_memory_bytes = int64_t{2} << 30;
  absl::Duration max_rpc_duration = absl::Minutes(10);
  // After this a connection is sent GOAWAY, so clients reconnect and
  // re-resolve (new replicas get traffic); calls in flight get the grace.
  absl::Duration max_connection_age = absl::Minutes(5);
  absl::Duration max_connection_age_grace = absl::Minutes(10);

  // After this long with no call, the heap kept for large messages goes
  // back to the system (IdleMemoryRelease); 0 = never.
  absl::Duration idle_release_after = absl::Seconds(5);
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_SERVER_OPTIONS_H_
