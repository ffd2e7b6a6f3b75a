// Range checks and the gRPC knobs behind the limit flags.
#include "server/server_limits.h"

#include <algorithm>
#include <climits>
#include <limits>

#include <grpc/grpc.h>
#include <grpcpp/resource_quota.h>

#include "absl/strings/str_cat.h"

namespace quantd::server {
namespace {

// gRPC takes connection ages as int milliseconds.
constexpr absl::Duration kMaxIntMillis = absl::Milliseconds(INT_MAX);

absl::Status CheckAge(absl::string_view flag, absl::Duration value, bool zero_ok) {
  if (value == absl::InfiniteDuration()) return absl::OkStatus();
  if (value < absl::ZeroDuration() || (!zero_ok && value < absl::Milliseconds(1)) ||
      value > kMaxIntMillis) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "=", absl::FormatDuration(value), " must be in [", zero_ok ? "0" : "1ms", ", ",
        absl::FormatDuration(kMaxIntMillis), "] or inf (no limit)"));
  }
  return absl::OkStatus();
}

std::string Limit(int64_t value) { return value == 0 ? "none" : absl::StrCat(value); }

}  // namespace

absl::Status ValidateLimits(const ServerOptions& options) {
  if (options.max_concurrent_rpcs < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_concurrent_rpcs=", options.max_concurrent_rpcs, " must be 0 (no limit) or positive"));
  }
  // One call of the largest message size and a response as large must fit,
  // or such a call could never be served.
  if (options.max_server_memory_bytes < 0 ||
      (options.max_server_memory_bytes > 0 &&
       options.max_server_memory_bytes / 2 < options.max_message_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_server_memory_bytes=", options.max_server_memory_bytes,
        " must be 0 (no limit) or at least twice --max_message_bytes=", options.max_message_bytes,
        " (", 2 * options.max_message_bytes, "), so that one request of the largest size and "
        "its response fit"));
  }
  if (options.max_rpc_duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_rpc_duration=", absl::FormatDuration(options.max_rpc_duration),
                     " must be positive, or inf (no limit)"));
  }
  if (absl::Status s = CheckAge("max_connection_age", options.max_connection_age, false); !s.ok()) {
    return s;
  }
  return CheckAge("max_connection_age_grace", options.max_connection_age_grace, true);
}

int64_t GrpcBufferQuotaBytes(const ServerOptions& options) {
  if (options.max_server_memory_bytes <= 0 || options.max_concurrent_rpcs <= 0) return 0;
  // At most 2^31 messages of fewer than 2^31 bytes (QuantdServer::Start
  // checks --max_message_bytes): the product fits, the sum saturates.
  const int64_t calls = std::min<int64_t>(options.max_concurrent_rpcs, INT_MAX);
  const int64_t messages = calls * std::clamp<int64_t>(options.max_message_bytes, 0, INT_MAX);
  const int64_t most = std::numeric_limits<int64_t>::max();
  return options.max_server_memory_bytes > most - messages ? most
                                                           : options.max_server_memory_bytes + messages;
}

void ApplyTransportLimits(const ServerOptions& options, grpc::ServerBuilder* builder) {
  if (const int64_t quota_bytes = GrpcBufferQuotaBytes(options); quota_bytes > 0) {
    grpc::ResourceQuota quota("quantd");
    quota.Resize(static_cast<size_t>(quota_bytes));
    builder->SetResourceQuota(quota);
  }
  if (options.max_connection_age != absl::InfiniteDuration()) {
    builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                                static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age)));
  }
  if (options.max_connection_age_grace != absl::InfiniteDuration()) {
    builder->AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age_grace)));
  }
}

CallLimits CallLimitsOf(const ServerOptions& options) {
  CallLimits limits;
  limits.max_concurrent_rpcs = options.max_concurrent_rpcs;
  limits.max_server_memory_bytes = options.max_server_memory_bytes;
  limits.max_rpc_duration = options.max_rpc_duration;
  return limits;
}

std::string DescribeLimits(const ServerOptions& options) {
  return absl::StrCat(
      "max_concurrent_rpcs ", Limit(options.max_concurrent_rpcs), ", max_server_memory_bytes ",
      Limit(options.max_server_memory_bytes), ", max_rpc_duration ",
      absl::FormatDuration(options.max_rpc_duration), ", max_connection_age ",
      absl::FormatDuration(options.max_connection_age), " (grace ",
      absl::FormatDuration(options.max_connection_age_grace), ")");
}

}  // namespace quantd::server
