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

// The limits that gRPC enforces itself: memory of its buffers (see
// GrpcBufferQuotaBytes) and connection age (GOAWAY, then the grace).
void ApplyTransportLimits(const ServerOptions& options, grpc::ServerBuilder* builder);

// The size of gRPC's ResourceQuota, 0 for none. gRPC answers a full quota
// by closing connections, calls in flight and all (UNAVAILABLE), not with
// a status the client can act on, so the quota is a last resort set beyond
// what the limits admit: the tensors of admitted calls
// (--max_server_memory_bytes) plus one message of the largest size for
// each call the concurrency limit lets run, whose bytes gRPC holds while
// they arrive, before the call gate can refuse anything. Overload within
// the limits is the gate's to refuse, with RESOURCE_EXHAUSTED. Without a
// memory or a concurrency limit there is no bound to place it at.
int64_t GrpcBufferQuotaBytes(const ServerOptions& options);

// The limits that the call gate enforces per Quantizer call.
CallLimits CallLimitsOf(const ServerOptions& options);

// One line for the start-up log.
std::string DescribeLimits(const ServerOptions& options);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_SERVER_LIMITS_H_
