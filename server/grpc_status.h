// The one place where absl::Status becomes grpc::Status.
#ifndef QUANTD_SERVER_GRPC_STATUS_H_
#define QUANTD_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace quantd::server {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_GRPC_STATUS_H_
