// A running quantd: the gRPC server with health and reflection, the kernel
// pool, and the metrics endpoint. Tests start it in-process on port 0.
#ifndef QUANTD_SERVER_QUANTD_SERVER_H_
#define QUANTD_SERVER_QUANTD_SERVER_H_

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/server.h>
#include <prometheus/exposer.h>

#include "absl/status/statusor.h"
#include "quantd/kernel_pool.h"
#include "server/call_gate.h"
#include "server/gated_quantizer_service.h"
#include "server/idle_memory_release.h"
#include "server/metrics.h"
#include "server/quantizer_service.h"
#include "server/server_options.h"

namespace quantd::server {

class QuantdServer {
 public:
  // Starts serving; fails when a port cannot be bound, an option is bad, or
  // a TLS or token file cannot be used (the message names the flag).
  static absl::StatusOr<std::unique_ptr<QuantdServer>> Start(const ServerOptions& options);
  ~QuantdServer();  // Drains with no grace if Drain was not called.

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  const Metrics& metrics() const { return *metrics_; }
  const CallGate& gate() const { return *gate_; }

  // Readiness turns NOT_SERVING, new RPCs are refused, RPCs in flight get
  // up to `grace` to finish (then they are cancelled); returns when all
  // have completed.
  void Drain(std::chrono::milliseconds grace);

 private:
  QuantdServer() = default;

  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<KernelPool> pool_;
  std::unique_ptr<QuantizerService> service_;
  // Declared before server_ so that they outlive it: the server's calls
  // hold their gate through their contexts until the server is gone.
  std::unique_ptr<CallGate> gate_;
  std::unique_ptr<GatedQuantizerService> gated_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<IdleMemoryRelease> idle_release_;  // Null with --idle_release_after=0.
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::string metrics_host_;  // Where this host reaches the metrics port.
  bool drained_ = false;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_QUANTD_SERVER_H_
