// The limit flags: their checks at start-up, and how they reach gRPC (a
// ResourceQuota and connection-age channel arguments) and the call gate.
#ifndef QUANTD_SERVER_SERVER_LIMITS_H_
#define QUANTD_SERVER_SERVER_LIMITS_H_

#include <string>

#include <grpcpp/server_builder.h>

#include "absl/status/status.h"
#include "server/call_gate.h"
#include "server/server_options.h"

namespace quantd::server {

// INVALID_ARGUMENT naming the flag and its value when a limit is out of range.
absl::Status ValidateLimits(const ServerOptions& options);

// The limits that gRPC enforces itself: memory of its buffers (over it, it
// resets streams with RESOURCE_EXHAUSTED) and connection age (GOAWAY, then
// the grace).
void ApplyTransportLimits(const ServerOptions& options, grpc::ServerBuilder* builder);

// The limits that the call gate enforces per Quantizer call.
CallLimits CallLimitsOf(const ServerOptions& options);

// One line for the start-up log.
std::string DescribeLimits(const ServerOptions& options);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_SERVER_LIMITS_H_
