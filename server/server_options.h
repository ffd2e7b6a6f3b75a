// What a quantd server is configured with; main() fills it from flags.
#ifndef QUANTD_SERVER_SERVER_OPTIONS_H_
#define QUANTD_SERVER_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "quantd/isa.h"

namespace quantd::server {

struct ServerOptions {
  std::string listen = "0.0.0.0:50051";        // gRPC; port 0 picks a free port.
  std::string metrics_listen = "0.0.0.0:9464";  // Prometheus text; port 0 picks one.
  int threads = 0;                              // Kernel pool size; 0 = the cores.
  int64_t max_message_bytes = int64_t{256} << 20;
  int64_t max_pending_tasks = 0;  // Pool queue bound; 0 = 64 per thread.
  bool reflection = true;
  // The highest kernel level allowed; the CPU may cap it further.
  Isa max_isa = Isa::kAvx512Vnni;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_SERVER_OPTIONS_H_
