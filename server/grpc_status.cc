// absl and gRPC share the canonical code numbers, so the map is a cast; the
// message carries over unchanged.
#include "server/grpc_status.h"

#include <string>

namespace quantd::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  static_assert(static_cast<int>(absl::StatusCode::kResourceExhausted) ==
                static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  static_assert(static_cast<int>(absl::StatusCode::kUnauthenticated) ==
                static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace quantd::server
