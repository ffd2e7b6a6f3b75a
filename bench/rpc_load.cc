// RPC load generator: N concurrent callers send the same request for a
// fixed time and report requests/s, MB/s of request payload, and latency
// percentiles. `--serve_echo=PORT` instead serves the echo service, the
// transport ceiling, on the same gRPC stack settings as quantd.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "echo.grpc.pb.h"
#include "quantd/malloc_tuning.h"
#include "quantd/v1/quantd.grpc.pb.h"
#include "rpc_util.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server to load");
ABSL_FLAG(std::string, rpc, "quantize", "quantize or echo");
ABSL_FLAG(int64_t, payload_bytes, 1 << 20, "float32 payload per request, in bytes");
ABSL_FLAG(int, concurrency, 4, "callers at once");
ABSL_FLAG(double, seconds, 3, "how long to send");
ABSL_FLAG(int, serve_echo, 0, "serve the echo service on this port instead (0: load mode)");

namespace quantd::bench {
namespace {

class EchoService final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoMessage* request,
                                 EchoMessage* response) override {
    response->set_data(request->data());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

int ServeEcho(int port) {
  EchoService service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(256 << 20);
  builder.SetMaxSendMessageSize(256 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return 1;
  std::fprintf(stderr, "echo: listening on port %d\n", port);
  server->Wait();
  return 0;
}

int Load() {
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  const std::string data = FloatPayload(absl::GetFlag(FLAGS_payload_bytes));
  auto channel = LoadChannel(absl::GetFlag(FLAGS_target));
  auto quantizer = v1::Quantizer::NewStub(channel);
  auto echo = Echo::NewStub(channel);
  v1::QuantizeRequest quantize;
  quantize.mutable_input()->set_dtype(v1::DTYPE_FLOAT32);
  quantize.mutable_input()->add_shape(static_cast<int64_t>(data.size() / 4));
  quantize.mutable_input()->set_data(data);
  quantize.mutable_options()->set_dtype(v1::DTYPE_INT8);
  EchoMessage echo_request;
  echo_request.set_data(data);

  auto call = [&]() -> grpc::Status {
    grpc::ClientContext context;
    if (rpc == "echo") {
      EchoMessage response;
      return echo->Echo(&context, echo_request, &response);
    }
    v1::QuantizeResponse response;
    return quantizer->Quantize(&context, quantize, &response);
  };
  if (grpc::Status s = call(); !s.ok()) {  // Warm up, and fail early.
    std::fprintf(stderr, "rpc_load: %s failed: %s\n", rpc.c_str(), s.error_message().c_str());
    return 1;
  }

  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const auto duration = std::chrono::duration<double>(absl::GetFlag(FLAGS_seconds));
  std::vector<std::vector<double>> latencies(concurrency);
  std::atomic<int64_t> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> callers;
  for (int c = 0; c < concurrency; ++c) {
    callers.emplace_back([&, c] {
      while (std::chrono::steady_clock::now() - start < duration) {
        const auto t0 = std::chrono::steady_clock::now();
        if (!call().ok()) ++failures;
        latencies[c].push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    });
  }
  for (std::thread& t : callers) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const double rps = all.size() / elapsed;
  std::printf("{\"rpc\": \"%s\", \"payload_bytes\": %zu, \"concurrency\": %d, \"requests\": %zu, "
              "\"failures\": %lld, \"requests_per_second\": %.1f, \"mb_per_second\": %.1f, "
              "\"p50_ms\": %.3f, \"p99_ms\": %.3f}\n",
              rpc.c_str(), data.size(), concurrency, all.size(), static_cast<long long>(failures.load()),
              rps, rps * data.size() / 1e6, 1e3 * Percentile(all, 0.5), 1e3 * Percentile(all, 0.99));
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace quantd::bench

int main(int argc, char** argv) {
  quantd::TuneMallocForLargeMessages();
  absl::ParseCommandLine(argc, argv);
  if (const int port = absl::GetFlag(FLAGS_serve_echo); port != 0) {
    return quantd::bench::ServeEcho(port);
  }
  return quantd::bench::Load();
}
