// The call gate's limits over real gRPC on loopback: concurrency, memory
// and the duration ceiling answer with the status and message the API
// promises, count the refusal, give back what a call held, and leave the
// server serving; bad limit values stop the start-up naming the flag.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "eventually.h"
#include "http_get.h"
#include "loopback.h"
#include "quantd/malloc_tuning.h"
#include "server/held_bytes.h"
#include "server/server_limits.h"

namespace quantd::server {
namespace {

using ::quantd::testing::Int8Request;
using ::quantd::testing::Loopback;
using ::quantd::testing::StartLoopback;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Large enough that the scalar kernels on one thread keep a call in flight
// for tens of milliseconds on any machine: the window in which the tests
// make their second call.
constexpr int64_t kSlowElements = int64_t{1} << 25;

using ::quantd::testing::Eventually;

std::string MetricsPage(const QuantdServer& server) {
  const auto page = quantd::testing::HttpGet(server.metrics_port(), "/metrics");
  EXPECT_TRUE(page.ok()) << page.status();
  return page.ok() ? *page : "";
}

ServerOptions SlowServer() {
  TuneMallocForLargeMessages();  // As quantd's main does.
  ServerOptions options;
  options.threads = 1;
  options.max_isa = Isa::kScalar;
  return options;
}

TEST(ConcurrencyLimitTest, CallBeyondTheLimitIsRefusedAndItsSlotComesBack) {
  ServerOptions options = SlowServer();
  options.max_concurrent_rpcs = 1;
  auto c = StartLoopback(options);
  const v1::QuantizeRequest slow = Int8Request(kSlowElements);
  grpc::Status first_status;
  std::thread first([&] {
    grpc::ClientContext context;
    v1::QuantizeResponse response;
    first_status = c.stub->Quantize(&context, slow, &response);
  });
  ASSERT_TRUE(Eventually([&] { return c.server->gate().concurrent_rpcs() == 1; }));

  grpc::ClientContext context;
  v1::QuantizeResponse response;
  const grpc::Status refused = c.stub->Quantize(&context, Int8Request(4), &response);
  // Health is not gated: probes work while the limit is reached.
  auto health = grpc::health::v1::Health::NewStub(c.channel);
  grpc::ClientContext health_context;
  grpc::health::v1::HealthCheckRequest health_request;
  health_request.set_service("quantd.v1.Quantizer");
  grpc::health::v1::HealthCheckResponse health_response;
  const grpc::Status health_status =
      health->Check(&health_context, health_request, &health_response);
  first.join();

  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("(--max_concurrent_rpcs=1)"));
  ASSERT_TRUE(health_status.ok()) << health_status.error_message();
  EXPECT_EQ(health_response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  ASSERT_TRUE(first_status.ok()) << first_status.error_message();

  // The finished call's slot is free again, and so is the refused one's.
  ASSERT_TRUE(Eventually([&] { return c.server->gate().concurrent_rpcs() == 0; }));
  grpc::ClientContext again;
  EXPECT_TRUE(c.stub->Quantize(&again, Int8Request(4), &response).ok());
  EXPECT_THAT(MetricsPage(*c.server),
              HasSubstr("quantd_rejected_requests_total{reason=\"concurrency_limit\"} 1"));
}

TEST(MemoryLimitTest, CallThatAloneNeedsMoreThanTheLimitIsRefused) {
  ServerOptions options;
  options.max_message_bytes = 40 << 20;
  options.max_server_memory_bytes = 80 << 20;
  auto c = StartLoopback(options);
  // 32 MiB of FLOAT32 in, with its dequantized copy out: 32 + 16 + 32 MiB
  // and the message's framing, over 80 MiB.
  v1::QuantizeRequest request = Int8Request(int64_t{8} << 20);
  request.mutable_options()->set_return_dequantized(true);
  const int64_t needs = HeldBytes(request);
  grpc::ClientContext context;
  v1::QuantizeResponse response;
  const grpc::Status refused = c.stub->Quantize(&context, request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr(absl::StrCat("this call's tensors need ", needs,
                                     " bytes (request and response), more than the server's "
                                     "limit of 83886080 (--max_server_memory_bytes=83886080)")));

  // Without the copy it fits.
  request.mutable_options()->set_return_dequantized(false);
  grpc::ClientContext fits;
  const grpc::Status ok = c.stub->Quantize(&fits, request, &response);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_THAT(MetricsPage(*c.server),
              HasSubstr("quantd_rejected_requests_total{reason=\"memory_limit\"} 1"));
}

// INT8 [n] to FLOAT32: a small request whose response is four times its
// size, so a call holds much and is quick to send.
v1::DequantizeRequest Int8Dequantize(int64_t n) {
  v1::DequantizeRequest request;
  request.mutable_input()->set_dtype(v1::DTYPE_INT8);
  request.mutable_input()->add_shape(n);
  request.mutable_input()->set_data(std::string(static_cast<size_t>(n), '\1'));
  request.mutable_params()->set_dtype(v1::DTYPE_INT8);
  request.mutable_params()->set_scheme(v1::SCHEME_SYMMETRIC);
  request.mutable_params()->add_scales(0.5f);
  return request;
}

TEST(MemoryLimitTest, BytesHeldByCallsInFlightCountAgainstTheLimit) {
  ServerOptions options = SlowServer();
  options.max_message_bytes = 130 << 20;
  options.max_server_memory_bytes = 260 << 20;
  auto c = StartLoopback(options);
  // 32 MiB in, 128 MiB out: 160 MiB held while the scalar kernel works and
  // the response goes out. A second such call does not fit beside it; a
  // small one does.
  const v1::DequantizeRequest big = Int8Dequantize(kSlowElements);
  const int64_t held = HeldBytes(big);
  grpc::Status first_status;
  std::thread first([&] {
    grpc::ClientContext context;
    v1::DequantizeResponse response;
    first_status = c.stub->Dequantize(&context, big, &response);
  });
  ASSERT_TRUE(Eventually([&] { return c.server->gate().held_bytes() == held; }));
  grpc::ClientContext context;
  v1::DequantizeResponse response;
  const grpc::Status refused = c.stub->Dequantize(&context, big, &response);
  grpc::ClientContext small_context;
  v1::QuantizeResponse small_response;
  const grpc::Status small = c.stub->Quantize(&small_context, Int8Request(4), &small_response);
  first.join();

  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr(absl::StrCat("this call's tensors need ", held, " bytes, calls in flight hold ",
                                     held, ", and the server's limit is 272629760 "
                                     "(--max_server_memory_bytes=272629760); retry with backoff")));
  EXPECT_TRUE(small.ok()) << small.error_message();
  ASSERT_TRUE(first_status.ok()) << first_status.error_message();
  ASSERT_TRUE(Eventually([&] { return c.server->gate().held_bytes() == 0; }));
}

// Clients that together have more bytes on their way than the memory limit
// must get answers or RESOURCE_EXHAUSTED from the gate, never lose their
// connection: gRPC's own buffers once had a ResourceQuota of the same size,
// and when the requests still arriving filled it, gRPC reclaimed memory by
// closing connections, so calls in flight ended UNAVAILABLE ("GOAWAY
// received", "Broken pipe").
TEST(MemoryLimitTest, ManyLargeRequestsAtOnceAreAnsweredOrRefusedNeverDropped) {
  TuneMallocForLargeMessages();
  ServerOptions options;
  options.max_message_bytes = 32 << 20;
  options.max_server_memory_bytes = 64 << 20;
  auto c = StartLoopback(options);
  const v1::QuantizeRequest big = Int8Request(int64_t{4} << 20);  // 16 MiB.
  constexpr int kClients = 8;
  std::mutex mu;
  std::map<grpc::StatusCode, int> codes;
  std::string unexpected;
  std::vector<std::thread> clients;
  const auto end = Clock::now() + std::chrono::seconds(4);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      // A connection of its own (channels of equal arguments share one).
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(-1);
      args.SetMaxSendMessageSize(-1);
      args.SetInt("quantd.test.connection", i);
      auto stub = v1::Quantizer::NewStub(grpc::CreateCustomChannel(
          absl::StrCat("127.0.0.1:", c.server->grpc_port()), grpc::InsecureChannelCredentials(),
          args));
      while (Clock::now() < end) {
        grpc::ClientContext context;
        v1::QuantizeResponse response;
        const grpc::Status status = stub->Quantize(&context, big, &response);
        std::lock_guard<std::mutex> lock(mu);
        ++codes[status.error_code()];
        if (!status.ok() && status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) {
          unexpected = status.error_message();
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_GT(codes[grpc::StatusCode::OK], 0);
  EXPECT_EQ(codes.size(), codes.count(grpc::StatusCode::RESOURCE_EXHAUSTED) + 1)
      << codes.size() << " codes, e.g. " << unexpected;
}

// Runs `request` and returns how long the server worked on it: from the
// call's start until the server has no request in flight.
Clock::duration TimeUntilIdle(const Loopback& c, const v1::QuantizeRequest& request,
                              grpc::Status* status) {
  const auto start = Clock::now();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
  v1::QuantizeResponse response;
  *status = c.stub->Quantize(&context, request, &response);
  EXPECT_TRUE(Eventually([&] { return c.server->metrics().inflight_requests.Value() == 0; }));
  return Clock::now() - start;
}

TEST(DeadlineCeilingTest, CallPastTheCeilingGetsDeadlineExceededAndItsWorkStops) {
  const v1::QuantizeRequest slow = Int8Request(kSlowElements);
  // The same bytes, refused before any work (the shape does not match the
  // data): what a call costs the server besides its work (sending,
  // receiving and parsing the request), which the ceiling cannot cut (it
  // counts from the handler's start). A sanitizer's slowdown makes that
  // most of a call.
  v1::QuantizeRequest unworkable = slow;
  unworkable.mutable_input()->set_shape(0, kSlowElements + 1);
  Clock::duration full;
  Clock::duration carriage;
  {
    auto unlimited = StartLoopback(SlowServer());
    grpc::Status status;
    carriage = TimeUntilIdle(unlimited, unworkable, &status);
    ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    full = TimeUntilIdle(unlimited, slow, &status);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ServerOptions options = SlowServer();
  options.max_rpc_duration = absl::Milliseconds(5);
  auto c = StartLoopback(options);
  grpc::Status status;
  const Clock::duration cut = TimeUntilIdle(c, slow, &status);
  // The client allowed two minutes; the server's ceiling of 5 ms decided.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("ran longer than --max_rpc_duration=5ms"));
  // The work stopped: what the ceiling could cut was cut at least by half.
  EXPECT_LT(cut - carriage, (full - carriage) / 2)
      << "full " << std::chrono::duration<double>(full).count() << " s, cut "
      << std::chrono::duration<double>(cut).count() << " s, carriage "
      << std::chrono::duration<double>(carriage).count() << " s";

  EXPECT_THAT(MetricsPage(*c.server),
              HasSubstr("quantd_rejected_requests_total{reason=\"max_rpc_duration\"} 1"));

  // Quick calls are untouched, and the server keeps serving. (A loaded
  // machine may push even a tiny call past 5 ms: one of a few must pass.)
  bool served = false;
  for (int attempt = 0; attempt < 10 && !served; ++attempt) {
    grpc::ClientContext context;
    v1::QuantizeResponse response;
    served = c.stub->Quantize(&context, Int8Request(4), &response).ok();
  }
  EXPECT_TRUE(served);
}

// gRPC answers unknown methods with contexts of its own, which it hands to
// the gate's context allocator too when the call ends.
TEST(CallGateTest, UnknownMethodIsUnimplementedAndTheServerKeepsServing) {
  auto c = StartLoopback(ServerOptions{});
  grpc::GenericStub generic(c.channel);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    grpc::Slice empty("");
    const grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    generic.UnaryCall(&context, "/quantd.v1.Nowhere/Nothing", grpc::StubOptions(), &request,
                      &response, [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        status = std::move(s);
                        done = true;
                        cv.notify_one();
                      });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  grpc::ClientContext context;
  v1::QuantizeResponse response;
  EXPECT_TRUE(c.stub->Quantize(&context, Int8Request(4), &response).ok());
  c.server->Drain(std::chrono::seconds(5));
}

TEST(LimitOptionsTest, OutOfRangeLimitsStopTheStartNamingTheFlag) {
  struct Case {
    std::function<void(ServerOptions*)> set;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](ServerOptions* o) { o->max_concurrent_rpcs = -1; },
       "--max_concurrent_rpcs=-1 must be 0 (no limit) or positive"},
      {[](ServerOptions* o) {
         o->max_message_bytes = 1000;
         o->max_server_memory_bytes = 1999;
       },
       "--max_server_memory_bytes=1999 must be 0 (no limit) or at least twice "
       "--max_message_bytes=1000 (2000)"},
      {[](ServerOptions* o) { o->max_rpc_duration = absl::ZeroDuration(); },
       "--max_rpc_duration=0 must be positive"},
      {[](ServerOptions* o) { o->max_connection_age = absl::Hours(1000); },
       "--max_connection_age=1000h must be in [1ms, 596h31m23.647s] or inf"},
      {[](ServerOptions* o) { o->max_connection_age_grace = -absl::Seconds(1); },
       "--max_connection_age_grace=-1s must be in [0, 596h31m23.647s] or inf"},
  };
  for (const Case& c : cases) {
    ServerOptions options;
    c.set(&options);
    EXPECT_THAT(QuantdServer::Start(options).status().message(), HasSubstr(c.message));
  }
  ServerOptions none;
  none.max_concurrent_rpcs = 0;
  none.max_server_memory_bytes = 0;
  none.max_rpc_duration = absl::InfiniteDuration();
  none.max_connection_age = absl::InfiniteDuration();
  none.max_connection_age_grace = absl::InfiniteDuration();
  EXPECT_TRUE(ValidateLimits(none).ok());
}

TEST(LimitOptionsTest, GrpcBuffersGetRoomForEveryCallOnTopOfTheTensors) {
  ServerOptions options;  // 2 GiB of tensors, 256 calls of up to 256 MiB.
  EXPECT_EQ(GrpcBufferQuotaBytes(options), (int64_t{2} << 30) + 256 * (int64_t{256} << 20));
  options.max_concurrent_rpcs = 0;  // No bound on the messages arriving.
  EXPECT_EQ(GrpcBufferQuotaBytes(options), 0);
  options.max_concurrent_rpcs = 4;
  options.max_server_memory_bytes = 0;
  EXPECT_EQ(GrpcBufferQuotaBytes(options), 0);
  options.max_server_memory_bytes = std::numeric_limits<int64_t>::max() - 1;
  EXPECT_EQ(GrpcBufferQuotaBytes(options), std::numeric_limits<int64_t>::max());
}

TEST(HeldBytesTest, RequestPlusTheResponseItsDataCanBack) {
  v1::QuantizeRequest quantize = Int8Request(1000);
  const int64_t request = static_cast<int64_t>(quantize.ByteSizeLong());
  EXPECT_EQ(HeldBytes(quantize), request + 2000);  // 2 bytes per element at most.
  quantize.mutable_options()->set_return_dequantized(true);
  EXPECT_EQ(HeldBytes(quantize), static_cast<int64_t>(quantize.ByteSizeLong()) + 2000 + 4000);

  v1::DequantizeRequest dequantize;
  dequantize.mutable_input()->set_dtype(v1::DTYPE_INT8);
  dequantize.mutable_input()->add_shape(10);
  dequantize.mutable_input()->add_shape(100);
  dequantize.mutable_input()->set_data(std::string(1000, '\0'));
  const int64_t dequantize_request = static_cast<int64_t>(dequantize.ByteSizeLong());
  EXPECT_EQ(HeldBytes(dequantize), dequantize_request + 4000);
  dequantize.set_output_dtype(v1::DTYPE_BFLOAT16);
  EXPECT_EQ(HeldBytes(dequantize), static_cast<int64_t>(dequantize.ByteSizeLong()) + 2000);
  // Shapes the data cannot back are invalid: charged their request only.
  dequantize.mutable_input()->set_shape(0, int64_t{1} << 40);
  EXPECT_EQ(HeldBytes(dequantize), static_cast<int64_t>(dequantize.ByteSizeLong()));
  dequantize.mutable_input()->set_shape(0, -10);
  EXPECT_EQ(HeldBytes(dequantize), static_cast<int64_t>(dequantize.ByteSizeLong()));
  dequantize.mutable_input()->set_shape(0, int64_t{1} << 40);
  dequantize.mutable_input()->set_shape(1, int64_t{1} << 40);  // Overflows int64.
  EXPECT_EQ(HeldBytes(dequantize), static_cast<int64_t>(dequantize.ByteSizeLong()));

  v1::MatMulRequest matmul;
  matmul.mutable_a()->add_shape(30);
  matmul.mutable_a()->add_shape(8);
  matmul.mutable_a()->set_data(std::string(30 * 8 * 4, '\0'));
  matmul.mutable_b()->add_shape(50);  // [N, K] with transpose_b.
  matmul.mutable_b()->add_shape(8);
  matmul.mutable_b()->set_data(std::string(50 * 8, '\0'));
  matmul.set_transpose_b(true);
  EXPECT_EQ(HeldBytes(matmul), static_cast<int64_t>(matmul.ByteSizeLong()) + 30 * 50 * 4);
}

}  // namespace
}  // namespace quantd::server
