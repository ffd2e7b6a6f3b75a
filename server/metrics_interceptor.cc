// Per-RPC counters and latency from the interception hook points.
#include "server/metrics_interceptor.h"

#include <chrono>
#include <string>

namespace quantd::server {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

const char* GrpcTypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY: return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING: return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING: return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING: return "bidi_stream";
  }
  return "unknown";
}

const char* GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "Canceled";
    case grpc::StatusCode::UNKNOWN: return "Unknown";
    case grpc::StatusCode::INVALID_ARGUMENT: return "InvalidArgument";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DeadlineExceeded";
    case grpc::StatusCode::NOT_FOUND: return "NotFound";
    case grpc::StatusCode::ALREADY_EXISTS: return "AlreadyExists";
    case grpc::StatusCode::PERMISSION_DENIED: return "PermissionDenied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "ResourceExhausted";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FailedPrecondition";
    case grpc::StatusCode::ABORTED: return "Aborted";
    case grpc::StatusCode::OUT_OF_RANGE: return "OutOfRange";
    case grpc::StatusCode::UNIMPLEMENTED: return "Unimplemented";
    case grpc::StatusCode::INTERNAL: return "Internal";
    case grpc::StatusCode::UNAVAILABLE: return "Unavailable";
    case grpc::StatusCode::DATA_LOSS: return "DataLoss";
    case grpc::StatusCode::UNAUTHENTICATED: return "Unauthenticated";
    default: return "Unknown";
  }
}

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(MetricsInterceptorFactory* factory, const MethodSeries* method)
      : factory_(factory), method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      start_ = std::chrono::steady_clock::now();
      method_->started->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      method_->received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      method_->sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      factory_->Handled(*method_, methods->GetSendStatus().error_code()).Increment();
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
      method_->handling_seconds->Observe(elapsed.count());
    }
    methods->Proceed();
  }

 private:
  MetricsInterceptorFactory* factory_;
  const MethodSeries* method_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

const MethodSeries& MetricsInterceptorFactory::SeriesFor(ServerRpcInfo* info) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<MethodSeries>& series = methods_[info->method()];
  if (series == nullptr) {
    // "/quantd.v1.Quantizer/Quantize" -> service and method labels.
    const std::string full = info->method();
    const size_t slash = full.rfind('/');
    series = std::make_unique<MethodSeries>();
    series->labels = {{"grpc_type", GrpcTypeName(info->type())},
                      {"grpc_service", full.substr(1, slash - 1)},
                      {"grpc_method", full.substr(slash + 1)}};
    series->started = &metrics_->rpc_started.Add(series->labels);
    series->received = &metrics_->rpc_msg_received.Add(series->labels);
    series->sent = &metrics_->rpc_msg_sent.Add(series->labels);
    series->handling_seconds = &metrics_->rpc_handling_seconds.Add(series->labels, LatencyBuckets());
  }
  return *series;
}

prometheus::Counter& MetricsInterceptorFactory::Handled(const MethodSeries& method,
                                                        grpc::StatusCode code) {
  absl::MutexLock lock(&mu_);
  prometheus::Counter*& counter = handled_[{&method, code}];
  if (counter == nullptr) {
    prometheus::Labels labels = method.labels;
    labels["grpc_code"] = GrpcCodeName(code);
    counter = &metrics_->rpc_handled.Add(labels);
  }
  return *counter;
}

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    ServerRpcInfo* info) {
  return new MetricsInterceptor(this, &SeriesFor(info));
}

}  // namespace quantd::server
