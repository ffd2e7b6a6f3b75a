// Every metric quantd exports, declared once. Names follow API.md: the
// go-grpc-prometheus RPC families and quantd's domain families. Labels are
// fixed and few: no tensor names, no client ids.
#ifndef QUANTD_SERVER_METRICS_H_
#define QUANTD_SERVER_METRICS_H_

#include <memory>
#include <map>
#include <string>
#include <tuple>
#include <vector>
#include "absl/strings/string_view.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/synchronization/mutex.h"
#include "quantd/error_stats.h"
#include "quantd/matmul.h"
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
  prometheus::Family<prometheus::Counter>& matmul_ops;
  prometheus::Family<prometheus::Histogram>& matmul_outlier_columns;
  prometheus::Family<prometheus::Histogram>& matmul_sqnr_db;
  prometheus::Family<prometheus::Histogram>& matmul_mse;
  prometheus::Family<prometheus::Histogram>& matmul_max_abs_error;
  prometheus::Family<prometheus::Counter>& calibrations;
  prometheus::Family<prometheus::Histogram>& calibration_clip_fraction;

  // One quantization's element count, bytes, error and kernel time.
  void RecordQuantize(const QuantParams& params, int64_t in_bytes, int64_t out_bytes,
                      const ErrorStats& error, double kernel_seconds);
  void RecordDequantize(DType dtype, int64_t count, int64_t in_bytes, int64_t out_bytes,
                        double kernel_seconds);
  // One calibration batch of `count` values.
  void RecordCalibrationBatch(DType dtype, int64_t count, int64_t in_bytes, double kernel_seconds);
  // A finished calibration: its method, and each slot's clip range as a
  // fraction of its observed range.
  void RecordCalibration(RangeMethod method, const std::vector<float>& observed_min,
                         const std::vector<float>& observed_max, const std::vector<float>& clip_min,
                         const std::vector<float>& clip_max);
  // One QuantizedMatMul: its M·N outputs and 2·M·N·K operations under the
  // weights' quantized dtype, the outlier columns when LLM.int8() was on,
  // and the error against the float product when it was computed.
  void RecordMatMul(const MatMulJob& job, const MatMulResult& result, int64_t in_bytes,
                    double kernel_seconds);
  // One Analyze: the input's elements once per candidate format.
  void RecordAnalyze(DType input_dtype, int64_t candidate_elements, int64_t in_bytes,
                     double kernel_seconds);

 private:
  // The series one (op, dtype, granularity) writes, looked up once: a
  // family's Add builds and hashes a label map under a lock, which costs
  // more than a small request's kernel.
  struct OpSeries {
    prometheus::Counter* elements;
    prometheus::Counter* bytes_in;
    prometheus::Counter* bytes_out;
    prometheus::Histogram* kernel_seconds;
    // Quantize only.
    prometheus::Counter* clipped = nullptr;
    prometheus::Counter* exact = nullptr;
    prometheus::Histogram* sqnr_db = nullptr;
    prometheus::Histogram* mse = nullptr;
    prometheus::Histogram* max_abs_error = nullptr;
    // QuantizedMatMul only (the error histograms above stay null).
    prometheus::Counter* matmul_ops = nullptr;
    prometheus::Histogram* outlier_columns = nullptr;
    prometheus::Histogram* matmul_sqnr_db = nullptr;
    prometheus::Histogram* matmul_mse = nullptr;
    prometheus::Histogram* matmul_max_abs_error = nullptr;
  };

  Metrics(std::shared_ptr<prometheus::Registry> registry, absl::string_view isa);
  OpSeries& SeriesFor(absl::string_view op, DType dtype, Granularity granularity);

  std::shared_ptr<prometheus::Registry> registry_;
  std::string isa_;
  absl::Mutex series_mu_;
  std::map<std::tuple<std::string, DType, Granularity>, OpSeries> series_
      ABSL_GUARDED_BY(series_mu_);
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_METRICS_H_
