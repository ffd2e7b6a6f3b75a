// Declarations of every exported metric, and the recording helpers.
#include "server/metrics.h"

#include <cmath>

#include "quantd/version.h"

namespace quantd::server {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

const Histogram::BucketBoundaries& SqnrBuckets() {
  static const auto* buckets = new Histogram::BucketBoundaries{
      0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70, 80, 100, 120, 150};
  return *buckets;
}

// Decades from 10^lo to 10^hi.
Histogram::BucketBoundaries Decades(int lo, int hi) {
  Histogram::BucketBoundaries buckets;
  for (int e = lo; e <= hi; ++e) buckets.push_back(std::pow(10.0, e));
  return buckets;
}

}  // namespace

const Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10, 30, 60};
  return *buckets;
}

Metrics::Metrics(absl::string_view isa)
    : Metrics(std::make_shared<prometheus::Registry>(), isa) {}

Metrics::Metrics(std::shared_ptr<prometheus::Registry> r, absl::string_view isa)
    : rpc_started(BuildCounter()
                      .Name("grpc_server_started_total")
                      .Help("Total number of RPCs started on the server.")
                      .Register(*r)),
      rpc_handled(BuildCounter()
                      .Name("grpc_server_handled_total")
                      .Help("Total number of RPCs completed on the server, regardless of success or failure.")
                      .Register(*r)),
      rpc_handling_seconds(BuildHistogram()
                               .Name("grpc_server_handling_seconds")
                               .Help("Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.")
                               .Register(*r)),
      rpc_msg_received(BuildCounter()
                           .Name("grpc_server_msg_received_total")
                           .Help("Total number of RPC stream messages received on the server.")
                           .Register(*r)),
      rpc_msg_sent(BuildCounter()
                       .Name("grpc_server_msg_sent_total")
                       .Help("Total number of gRPC stream messages sent by the server.")
                       .Register(*r)),
      elements(BuildCounter()
                   .Name("quantd_elements_total")
                   .Help("Tensor elements processed, by operation and quantized dtype.")
                   .Register(*r)),
      bytes(BuildCounter()
                .Name("quantd_bytes_total")
                .Help("Tensor payload bytes, by operation and direction (in: read from requests, out: written to responses).")
                .Register(*r)),
      sqnr_db(BuildHistogram()
                  .Name("quantd_quantization_sqnr_db")
                  .Help("Signal-to-quantization-noise ratio (dB) of each quantized tensor; exact results are counted in quantd_quantization_exact_total instead.")
                  .Register(*r)),
      exact_results(BuildCounter()
                        .Name("quantd_quantization_exact_total")
                        .Help("Quantized tensors whose round trip was exact (infinite SQNR).")
                        .Register(*r)),
      mse(BuildHistogram()
              .Name("quantd_quantization_mse")
              .Help("Mean squared error of each quantized tensor's round trip.")
              .Register(*r)),
      max_abs_error(BuildHistogram()
                        .Name("quantd_quantization_max_abs_error")
                        .Help("Largest absolute error of each quantized tensor's round trip.")
                        .Register(*r)),
      clipped_elements(BuildCounter()
                           .Name("quantd_clipped_elements_total")
                           .Help("Elements that fell outside the quantized range and were clipped.")
                           .Register(*r)),
      kernel_seconds(BuildHistogram()
                         .Name("quantd_kernel_seconds")
                         .Help("Time spent in kernels per request (seconds), by operation and ISA.")
                         .Register(*r)),
      pool_queue_depth(BuildGauge()
                           .Name("quantd_pool_queue_depth")
                           .Help("Tasks queued or running on the kernel pool.")
                           .Register(*r)
                           .Add({})),
      pool_threads(BuildGauge()
                       .Name("quantd_pool_threads")
                       .Help("Threads of the kernel pool.")
                       .Register(*r)
                       .Add({})),
      inflight_requests(BuildGauge()
                            .Name("quantd_inflight_requests")
                            .Help("Quantizer RPCs being handled now.")
                            .Register(*r)
                            .Add({})),
      rejected_requests(BuildCounter()
                            .Name("quantd_rejected_requests_total")
                            .Help("Quantizer RPCs refused, by reason: pool_queue_full, concurrency_limit and memory_limit (RESOURCE_EXHAUSTED), unauthenticated (UNAUTHENTICATED), draining (UNAVAILABLE after SIGTERM); and max_rpc_duration, calls cut short with DEADLINE_EXCEEDED.")
                            .Register(*r)),
      matmul_ops(BuildCounter()
                     .Name("quantd_matmul_ops_total")
                     .Help("Arithmetic operations of QuantizedMatMul (2·M·N·K per product), by the weights' quantized dtype.")
                     .Register(*r)),
      matmul_outlier_columns(
          BuildHistogram()
              .Name("quantd_matmul_outlier_columns")
              .Help("Feature columns of A run in float by LLM.int8() outlier decomposition, per QuantizedMatMul with an outlier threshold.")
              .Register(*r)),
      matmul_sqnr_db(BuildHistogram()
                         .Name("quantd_matmul_sqnr_db")
                         .Help("Signal-to-quantization-noise ratio (dB) of each QuantizedMatMul output against the float product, when the reference error was asked; finite values only.")
                         .Register(*r)),
      matmul_mse(BuildHistogram()
                     .Name("quantd_matmul_mse")
                     .Help("Mean squared error of each QuantizedMatMul output against the float product, when the reference error was asked.")
                     .Register(*r)),
      matmul_max_abs_error(BuildHistogram()
                               .Name("quantd_matmul_max_abs_error")
                               .Help("Largest absolute error of each QuantizedMatMul output against the float product, when the reference error was asked.")
                               .Register(*r)),
      calibrations(BuildCounter()
                       .Name("quantd_calibrations_total")
                       .Help("Calibrations finished, by range method.")
                       .Register(*r)),
      calibration_clip_fraction(
          BuildHistogram()
              .Name("quantd_calibration_clip_fraction")
              .Help("Width of each calibrated slot's clip range as a fraction of its observed range (1: nothing clipped).")
              .Register(*r)),
      registry_(std::move(r)),
      isa_(isa) {
  BuildGauge()
      .Name("quantd_build_info")
      .Help("Build and run-time facts; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", kVersion}, {"isa", isa_}})
      .Set(1);
}

Metrics::OpSeries& Metrics::SeriesFor(absl::string_view op, DType dtype,
                                      Granularity granularity) {
  absl::MutexLock lock(&series_mu_);
  auto [it, inserted] = series_.try_emplace({std::string(op), dtype, granularity});
  OpSeries& s = it->second;
  if (!inserted) return s;
  const std::string op_name(op), dtype_name(DTypeName(dtype));
  s.elements = &elements.Add({{"op", op_name}, {"dtype", dtype_name}});
  s.bytes_in = &bytes.Add({{"op", op_name}, {"direction", "in"}});
  s.bytes_out = &bytes.Add({{"op", op_name}, {"direction", "out"}});
  s.kernel_seconds = &kernel_seconds.Add({{"op", op_name}, {"isa", isa_}}, LatencyBuckets());
  if (op == "quantize") {
    static const Histogram::BucketBoundaries kMseBuckets = Decades(-14, 2);
    static const Histogram::BucketBoundaries kAbsBuckets = Decades(-8, 3);
    const prometheus::Labels labels{{"dtype", dtype_name},
                                    {"granularity", std::string(GranularityName(granularity))}};
    s.clipped = &clipped_elements.Add({{"dtype", dtype_name}});
    s.exact = &exact_results.Add({{"dtype", dtype_name}});
    s.sqnr_db = &sqnr_db.Add(labels, SqnrBuckets());
    s.mse = &mse.Add(labels, kMseBuckets);
    s.max_abs_error = &max_abs_error.Add(labels, kAbsBuckets);
  } else if (op == "matmul") {
    static const Histogram::BucketBoundaries kMseBuckets = Decades(-14, 4);
    static const Histogram::BucketBoundaries kAbsBuckets = Decades(-8, 4);
    static const Histogram::BucketBoundaries kColumnBuckets{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    const prometheus::Labels labels{{"dtype", dtype_name}};
    s.matmul_ops = &matmul_ops.Add(labels);
    s.outlier_columns = &matmul_outlier_columns.Add(labels, kColumnBuckets);
    s.matmul_sqnr_db = &matmul_sqnr_db.Add(labels, SqnrBuckets());
    s.matmul_mse = &matmul_mse.Add(labels, kMseBuckets);
    s.matmul_max_abs_error = &matmul_max_abs_error.Add(labels, kAbsBuckets);
  }
  return s;
}

void Metrics::RecordQuantize(const QuantParams& params, int64_t in_bytes, int64_t out_bytes,
                             const ErrorStats& error, double kernel_seconds) {
  OpSeries& s = SeriesFor("quantize", params.dtype, params.granularity);
  s.elements->Increment(error.count);
  s.bytes_in->Increment(in_bytes);
  s.bytes_out->Increment(out_bytes);
  s.kernel_seconds->Observe(kernel_seconds);
  s.clipped->Increment(error.clipped_count);
  if (error.count == 0) return;  // No error to speak of.
  if (std::isfinite(error.sqnr_db)) {
    s.sqnr_db->Observe(error.sqnr_db);
  } else if (error.sqnr_db > 0) {
    s.exact->Increment();
  }
  s.mse->Observe(error.mse);
  s.max_abs_error->Observe(error.max_abs_error);
}

void Metrics::RecordDequantize(DType dtype, int64_t count, int64_t in_bytes, int64_t out_bytes,
                               double kernel_seconds) {
  OpSeries& s = SeriesFor("dequantize", dtype, Granularity::kUnspecified);
  s.elements->Increment(count);
  s.bytes_in->Increment(in_bytes);
  s.bytes_out->Increment(out_bytes);
  s.kernel_seconds->Observe(kernel_seconds);
}

void Metrics::RecordCalibrationBatch(DType dtype, int64_t count, int64_t in_bytes,
                                     double kernel_seconds) {
  OpSeries& s = SeriesFor("calibrate", dtype, Granularity::kUnspecified);
  s.elements->Increment(count);
  s.bytes_in->Increment(in_bytes);
  s.kernel_seconds->Observe(kernel_seconds);
}

void Metrics::RecordCalibration(RangeMethod method, const std::vector<float>& observed_min,
                                const std::vector<float>& observed_max,
                                const std::vector<float>& clip_min,
                                const std::vector<float>& clip_max) {
  static const Histogram::BucketBoundaries kFractions{0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5,
                                                      0.6,  0.7,  0.8, 0.9, 0.95, 0.99, 1};
  const std::string name(RangeMethodName(method));
  calibrations.Add({{"method", name}}).Increment();
  Histogram& fraction = calibration_clip_fraction.Add({{"method", name}}, kFractions);
  for (size_t s = 0; s < observed_min.size(); ++s) {
    const double observed = static_cast<double>(observed_max[s]) - observed_min[s];
    if (observed > 0) fraction.Observe((static_cast<double>(clip_max[s]) - clip_min[s]) / observed);
  }
}

void Metrics::RecordMatMul(const MatMulJob& job, const MatMulResult& result, int64_t in_bytes,
                           double kernel_seconds) {
  // Float weights are quantized to INT8 on the fly.
  const DType b_dtype = job.inputs.b.dtype;
  OpSeries& s = SeriesFor("matmul", IsFloatInputDType(b_dtype) ? DType::kInt8 : b_dtype,
                          Granularity::kUnspecified);
  s.elements->Increment(static_cast<double>(job.m) * static_cast<double>(job.n));
  s.bytes_in->Increment(in_bytes);
  s.bytes_out->Increment(job.output_bytes);
  s.kernel_seconds->Observe(kernel_seconds);
  s.matmul_ops->Increment(2.0 * static_cast<double>(job.m) * static_cast<double>(job.n) *
                          static_cast<double>(job.k));
  if (job.options.outlier_threshold > 0) {
    s.outlier_columns->Observe(static_cast<double>(result.outlier_columns));
  }
  if (!result.error.has_value() || result.error->count == 0) return;
  if (std::isfinite(result.error->sqnr_db)) s.matmul_sqnr_db->Observe(result.error->sqnr_db);
  s.matmul_mse->Observe(result.error->mse);
  s.matmul_max_abs_error->Observe(result.error->max_abs_error);
}

void Metrics::RecordAnalyze(DType input_dtype, int64_t candidate_elements, int64_t in_bytes,
                            double kernel_seconds) {
  OpSeries& s = SeriesFor("analyze", input_dtype, Granularity::kUnspecified);
  s.elements->Increment(candidate_elements);
  s.bytes_in->Increment(in_bytes);
  s.kernel_seconds->Observe(kernel_seconds);
}

}  // namespace quantd::server
