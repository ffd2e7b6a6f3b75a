// QuantdClient: channel set-up, per-call deadlines and status mapping.
#include "client/quantd_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "quantd/status_macros.h"

namespace quantd::client {

absl::Status ToAbslStatus(const grpc::Status& status) {
  static_assert(static_cast<int>(grpc::StatusCode::UNAUTHENTICATED) ==
                static_cast<int>(absl::StatusCode::kUnauthenticated));
  static_assert(static_cast<int>(grpc::StatusCode::DATA_LOSS) ==
                static_cast<int>(absl::StatusCode::kDataLoss));
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::StatusOr<std::unique_ptr<QuantdClient>> QuantdClient::Create(const ClientOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("the target is empty");
  // gRPC takes the message limit as an int.
  if (options.max_message_bytes <= 0 ||
      options.max_message_bytes > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("max_message_bytes must be in [1, ",
                                                   std::numeric_limits<int>::max(), "], not ",
                                                   options.max_message_bytes));
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the timeout must be positive, not ", absl::FormatDuration(options.timeout)));
  }
  if (!options.auth_token.empty() && !options.auth_token_file.empty()) {
    return absl::InvalidArgumentError("give auth_token or auth_token_file, not both");
  }
  ClientOptions resolved = options;
  if (!options.auth_token_file.empty()) {
    QUANTD_ASSIGN_OR_RETURN(resolved.auth_token, ReadAuthTokenFile(options.auth_token_file));
  }
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  if (!options.load_balancing_policy.empty()) {
    args.SetLoadBalancingPolicyName(options.load_balancing_policy);
  }
  QUANTD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                          MakeChannelCredentials(options.tls, &args));
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.target, credentials, args);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create a channel to '", options.target, "'"));
  }
  return std::unique_ptr<QuantdClient>(new QuantdClient(std::move(resolved), std::move(channel)));
}

QuantdClient::QuantdClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::Quantizer::NewStub(channel_)),
      health_stub_(grpc::health::v1::Health::NewStub(channel_)) {}

void QuantdClient::PrepareContext(grpc::ClientContext* context) const {
  if (options_.timeout != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  }
  if (!options_.auth_token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.auth_token));
  }
}

absl::StatusOr<bool> QuantdClient::Health(absl::string_view service) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(std::string(service));
  grpc::health::v1::HealthCheckResponse response;
  QUANTD_RETURN_IF_ERROR(ToAbslStatus(health_stub_->Check(&context, request, &response)));
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

absl::StatusOr<v1::QuantizeResponse> QuantdClient::Quantize(
    const v1::QuantizeRequest& request) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::QuantizeResponse response;
  QUANTD_RETURN_IF_ERROR(ToAbslStatus(stub_->Quantize(&context, request, &response)));
  return response;
}

absl::StatusOr<v1::AnalyzeResponse> QuantdClient::Analyze(const v1::AnalyzeRequest& request) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::AnalyzeResponse response;
  QUANTD_RETURN_IF_ERROR(ToAbslStatus(stub_->Analyze(&context, request, &response)));
  return response;
}

absl::StatusOr<v1::MatMulResponse> QuantdClient::MatMul(const v1::MatMulRequest& request) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::MatMulResponse response;
  QUANTD_RETURN_IF_ERROR(ToAbslStatus(stub_->QuantizedMatMul(&context, request, &response)));
  return response;
}

absl::StatusOr<v1::CalibrateResponse> QuantdClient::Calibrate(
    const v1::CalibrateOptions& options,
    const std::function<absl::StatusOr<std::optional<v1::Tensor>>()>& next_batch) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::CalibrateResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::CalibrateRequest>> writer =
      stub_->Calibrate(&context, &response);
  v1::CalibrateRequest request;
  *request.mutable_options() = options;
  bool open = writer->Write(request);
  request.Clear();
  while (open) {
    absl::StatusOr<std::optional<v1::Tensor>> batch = next_batch();
    if (!batch.ok()) {
      context.TryCancel();
      writer->Finish();
      return batch.status();
    }
    if (!batch->has_value()) break;
    request.mutable_batch()->Swap(&**batch);
    open = writer->Write(request);
    request.Clear();
  }
  writer->WritesDone();
  QUANTD_RETURN_IF_ERROR(ToAbslStatus(writer->Finish()));
  return response;
}

absl::StatusOr<v1::DequantizeResponse> QuantdClient::Dequantize(
    const v1::DequantizeRequest& request) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::DequantizeResponse response;
  QUANTD_RETURN_IF_ERROR(ToAbslStatus(stub_->Dequantize(&context, request, &response)));
  return response;
}

namespace {

// One bidirectional tensor stream: a writer thread sends the header and the
// input in chunks while the calling thread reads the responses, so that a
// server that answers while it still receives (a bounded window) is never
// blocked by a client that has not finished writing. `on_response` sees each
// response in order.
template <typename Request, typename Response, typename Header>
absl::Status RunTensorStream(
    grpc::ClientContext* context, grpc::ClientReaderWriter<Request, Response>* stream,
    const Header& header, void (*set_header)(Request*, const Header&), absl::string_view input,
    int64_t chunk_bytes, const std::function<absl::Status(int64_t)>& on_sent,
    const std::function<absl::Status(Response&)>& on_response) {
  if (chunk_bytes <= 0) chunk_bytes = QuantdClient::kStreamChunkBytes;
  std::mutex mutex;
  absl::Status local;  // The first failure of a callback, if any.
  auto fail = [&](absl::Status status) {
    std::lock_guard<std::mutex> lock(mutex);
    if (local.ok()) local = std::move(status);
    context->TryCancel();
  };
  std::thread writer([&] {
    Request request;
    set_header(&request, header);
    if (!stream->Write(request)) return;
    for (size_t at = 0; at < input.size(); at += static_cast<size_t>(chunk_bytes)) {
      const size_t n = std::min(static_cast<size_t>(chunk_bytes), input.size() - at);
      request.Clear();
      request.set_data(input.data() + at, n);
      if (!stream->Write(request)) return;  // Finish() says why.
      if (on_sent) {
        if (absl::Status status = on_sent(static_cast<int64_t>(n)); !status.ok()) {
          fail(std::move(status));
          return;
        }
      }
    }
    stream->WritesDone();
  });
  Response response;
  while (stream->Read(&response)) {
    if (absl::Status status = on_response(response); !status.ok()) {
      fail(std::move(status));
      break;
    }
  }
  writer.join();
  grpc::Status status = stream->Finish();
  std::lock_guard<std::mutex> lock(mutex);
  if (!local.ok()) return local;
  return ToAbslStatus(status);
}

}  // namespace

absl::StatusOr<QuantdClient::QuantizeStreamResult> QuantdClient::QuantizeStream(
    const v1::QuantizeStreamHeader& header, absl::string_view input,
    const std::function<absl::Status(absl::string_view)>& on_output,
    const std::function<absl::Status(int64_t)>& on_sent, int64_t chunk_bytes) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  auto stream = stub_->QuantizeStream(&context);
  QuantizeStreamResult result;
  bool have_params = false;
  bool have_error = false;
  QUANTD_RETURN_IF_ERROR((RunTensorStream<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>(
      &context, stream.get(), header,
      +[](v1::QuantizeStreamRequest* r, const v1::QuantizeStreamHeader& h) {
        *r->mutable_header() = h;
      },
      input, chunk_bytes, on_sent, [&](v1::QuantizeStreamResponse& response) -> absl::Status {
        switch (response.msg_case()) {
          case v1::QuantizeStreamResponse::kParams:
            if (have_params) return absl::InternalError("the server sent params twice");
            have_params = true;
            result.params.Swap(response.mutable_params());
            return absl::OkStatus();
          case v1::QuantizeStreamResponse::kData:
            if (!have_params) return absl::InternalError("the server sent data before params");
            result.output_bytes += static_cast<int64_t>(response.data().size());
            return on_output(response.data());
          case v1::QuantizeStreamResponse::kError:
            have_error = true;
            result.error.Swap(response.mutable_error());
            return absl::OkStatus();
          default:
            return absl::InternalError("the server sent an empty QuantizeStreamResponse");
        }
      })));
  if (!have_params || !have_error) {
    return absl::InternalError("the QuantizeStream answer ended without its params or error");
  }
  return result;
}

absl::StatusOr<int64_t> QuantdClient::DequantizeStream(
    const v1::DequantizeStreamHeader& header, absl::string_view input,
    const std::function<absl::Status(absl::string_view)>& on_output,
    const std::function<absl::Status(int64_t)>& on_sent, int64_t chunk_bytes) const {
  grpc::ClientContext context;
  PrepareContext(&context);
  auto stream = stub_->DequantizeStream(&context);
  int64_t output_bytes = 0;
  QUANTD_RETURN_IF_ERROR(
      (RunTensorStream<v1::DequantizeStreamRequest, v1::DequantizeStreamResponse>(
          &context, stream.get(), header,
          +[](v1::DequantizeStreamRequest* r, const v1::DequantizeStreamHeader& h) {
            *r->mutable_header() = h;
          },
          input, chunk_bytes, on_sent, [&](v1::DequantizeStreamResponse& response) {
            output_bytes += static_cast<int64_t>(response.data().size());
            return on_output(response.data());
          })));
  return output_bytes;
}

}  // namespace quantd::client
