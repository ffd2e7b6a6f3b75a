// Every metric quantd exports, declared once. Names follow API.md: the
// go-grpc-prometheus RPC families and quantd's domain families. Labels are
// fixed and few: no tensor names, no client ids.
#ifndef QUANTD_SERVER_METRICS_H_
#define QUANTD_SERVER_METRICS_H_

#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "quantd/error_stats.h"
#include "quantd/quant_params.h"

namespace quantd::server {

// Bucket bounds (seconds) for request and kernel latencies.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

class Metrics {
 public:
  explicit Metrics(absl::string_view isa);

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // RPC level, fed by the server interceptor.
  prometheus::Family<prometheus::Counter>& rpc_started;
  prometheus::Family<prometheus::Counter>& rpc_handled;
  prometheus::Family<prometheus::Histogram>& rpc_handling_seconds;
  prometheus::Family<prometheus::Counter>& rpc_msg_received;
  prometheus::Family<prometheus::Counter>& rpc_msg_sent;

  // Domain level, fed by the handlers.
  prometheus::Family<prometheus::Counter>& elements;
  prometheus::Family<prometheus::Counter>& bytes;
  prometheus::Family<prometheus::Histogram>& sqnr_db;
  prometheus::Family<prometheus::Counter>& exact_results;
  prometheus::Family<prometheus::Histogram>& mse;
  prometheus::Family<prometheus::Histogram>& max_abs_error;
  prometheus::Family<prometheus::Counter>& clipped_elements;
  prometheus::Family<prometheus::Histogram>& kernel_seconds;
  prometheus::Gauge& pool_queue_depth;
  prometheus::Gauge& pool_threads;
  prometheus::Gauge& inflight_requests;
  prometheus::Family<prometheus::Counter>& rejected_requests;

  // One quantization's element count, bytes and error.
  void RecordQuantize(DType input_dtype, const QuantParams& params, int64_t in_bytes,
                      int64_t out_bytes, const ErrorStats& error);
  void RecordDequantize(DType dtype, int64_t count, int64_t in_bytes, int64_t out_bytes);
  void RecordKernelSeconds(absl::string_view op, double seconds);

 private:
  Metrics(std::shared_ptr<prometheus::Registry> registry, absl::string_view isa);

  std::shared_ptr<prometheus::Registry> registry_;
  std::string isa_;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_METRICS_H_
