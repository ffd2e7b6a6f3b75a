// QuantdClient: a blocking C++ client for the quantd.v1.Quantizer service and
// its grpc.health.v1 health checks.
#ifndef QUANTD_CLIENT_QUANTD_CLIENT_H_
#define QUANTD_CLIENT_QUANTD_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/client_credentials.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "quantd/v1/quantd.grpc.pb.h"
#include "quantd/v1/quantd.pb.h"

namespace quantd::client {

inline constexpr absl::string_view kQuantizerServiceName = "quantd.v1.Quantizer";

struct ClientOptions {
  // "host:port" or any gRPC target, e.g. "dns:///quantd.svc:50051".
  std::string target = "127.0.0.1:50051";
  // Largest message sent or received; matches the server's default so that a
  // tensor the server accepts is one the client can send and read back.
  int64_t max_message_bytes = int64_t{256} << 20;
  // Per call; absl::InfiniteDuration() waits for as long as the server takes.
  absl::Duration timeout = absl::Seconds(60);
  // gRPC load-balancing policy, e.g. "round_robin" to spread calls over every
  // address a DNS name resolves to (replicas behind a headless Service);
  // empty keeps gRPC's default (pick_first).
  std::string load_balancing_policy;
  // Plaintext unless TLS is asked for (see TlsOptions).
  TlsOptions tls;
  // When set, sent as "authorization: Bearer <token>" on every call
  // (quantd --auth_token_file). auth_token_file reads it from a file
  // instead (surrounding whitespace stripped); give one or the other.
  std::string auth_token;
  std::string auth_token_file;
};

// gRPC and absl share the canonical code numbers, so this is a cast that
// keeps the message.
absl::Status ToAbslStatus(const grpc::Status& status);

// Thread-safe: calls may be made from any number of threads at once.
class QuantdClient {
 public:
  // Checks the options, reads the TLS and token files, and creates the
  // channel. Connecting is lazy: an unreachable server, or a TLS handshake
  // that fails, shows up as UNAVAILABLE on the first call.
  static absl::StatusOr<std::unique_ptr<QuantdClient>> Create(const ClientOptions& options);

  // Whether `service` is SERVING: "" is liveness, kQuantizerServiceName
  // readiness (NOT_SERVING while the server drains). A service the server
  // does not know is NOT_FOUND.
  absl::StatusOr<bool> Health(absl::string_view service) const;

  absl::StatusOr<v1::QuantizeResponse> Quantize(const v1::QuantizeRequest& request) const;
  absl::StatusOr<v1::DequantizeResponse> Dequantize(const v1::DequantizeRequest& request) const;
  absl::StatusOr<v1::AnalyzeResponse> Analyze(const v1::AnalyzeRequest& request) const;
  absl::StatusOr<v1::MatMulResponse> MatMul(const v1::MatMulRequest& request) const;
  // Streams options, then every batch `next_batch` yields until it yields
  // nullopt; batches are produced one at a time, so a client holds one.
  absl::StatusOr<v1::CalibrateResponse> Calibrate(
      const v1::CalibrateOptions& options,
      const std::function<absl::StatusOr<std::optional<v1::Tensor>>()>& next_batch) const;

  // QuantizeStream: sends `header`, then `input` (the tensor's bytes, which
  // may be a memory-mapped file) in chunks of `chunk_bytes`, while a second
  // thread reads the answer: the params, the output's bytes, each handed to
  // `on_output` as it arrives (so neither side holds the whole tensor), and
  // the error statistics. `on_sent` (optional) hears each chunk's size once
  // it is written; a non-OK status from either callback cancels the call
  // and is returned.
  struct QuantizeStreamResult {
    v1::QuantParams params;
    v1::ErrorStats error;
    int64_t output_bytes = 0;
  };
  absl::StatusOr<QuantizeStreamResult> QuantizeStream(
      const v1::QuantizeStreamHeader& header, absl::string_view input,
      const std::function<absl::Status(absl::string_view)>& on_output,
      const std::function<absl::Status(int64_t)>& on_sent = nullptr,
      int64_t chunk_bytes = kStreamChunkBytes) const;
  // DequantizeStream, the same way: returns the number of output bytes.
  absl::StatusOr<int64_t> DequantizeStream(
      const v1::DequantizeStreamHeader& header, absl::string_view input,
      const std::function<absl::Status(absl::string_view)>& on_output,
      const std::function<absl::Status(int64_t)>& on_sent = nullptr,
      int64_t chunk_bytes = kStreamChunkBytes) const;
  static constexpr int64_t kStreamChunkBytes = int64_t{4} << 20;

  const ClientOptions& options() const { return options_; }

 private:
  QuantdClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel);

  // Applies the deadline and the credentials of options_.
  void PrepareContext(grpc::ClientContext* context) const;

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Quantizer::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_stub_;
};

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_QUANTD_CLIENT_H_
