// A server interceptor that feeds the grpc_server_* families for every RPC,
// the way go-grpc-prometheus does.
#ifndef QUANTD_SERVER_METRICS_INTERCEPTOR_H_
#define QUANTD_SERVER_METRICS_INTERCEPTOR_H_

#include <map>
#include <memory>
#include <string>

#include <grpcpp/support/server_interceptor.h>

#include "absl/synchronization/mutex.h"
#include "server/metrics.h"

namespace quantd::server {

// The series of one method, looked up once per method rather than per RPC.
struct MethodSeries {
  prometheus::Labels labels;  // grpc_type, grpc_service, grpc_method.
  prometheus::Counter* started = nullptr;
  prometheus::Counter* received = nullptr;
  prometheus::Counter* sent = nullptr;
  prometheus::Histogram* handling_seconds = nullptr;
};

class MetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

  // grpc_server_handled_total for a method and status code.
  prometheus::Counter& Handled(const MethodSeries& method, grpc::StatusCode code);

 private:
  const MethodSeries& SeriesFor(grpc::experimental::ServerRpcInfo* info);

  Metrics* metrics_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<MethodSeries>> methods_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<const MethodSeries*, grpc::StatusCode>, prometheus::Counter*> handled_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_METRICS_INTERCEPTOR_H_
