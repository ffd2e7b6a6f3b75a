// The two places where absl::Status and grpc::Status meet.
#ifndef QUANTD_SERVER_GRPC_STATUS_H_
#define QUANTD_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace quantd::server {

grpc::Status ToGrpcStatus(const absl::Status& status);
// And back, for what the gate answers inside a stream's handler.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_GRPC_STATUS_H_
