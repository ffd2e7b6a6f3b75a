// A server interceptor that feeds the grpc_server_* families for every RPC,
// the way go-grpc-prometheus does.
#ifndef QUANTD_SERVER_METRICS_INTERCEPTOR_H_
#define QUANTD_SERVER_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "server/metrics.h"

namespace quantd::server {

class MetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* metrics_;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_METRICS_INTERCEPTOR_H_
