// QuantizeStream and DequantizeStream against the unary calls, and their
// refusals, on an in-process server.
#include <cstring>
#include <thread>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "eventually.h"
#include "quantd/v1/quantd.grpc.pb.h"
#include "server/quantd_server.h"

namespace quantd::server {
namespace {

using ::quantd::testing::Eventually;
using ::testing::HasSubstr;

struct Server {
  std::unique_ptr<QuantdServer> server;
  std::unique_ptr<v1::Quantizer::Stub> stub;
};

Server Start(int64_t max_buffer_bytes) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "127.0.0.1:0";
  options.max_buffer_bytes = max_buffer_bytes;
  auto server = QuantdServer::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  Server s;
  s.server = std::move(*server);
  // The unary calls the streams are compared with answer more than gRPC's
  // default 4 MiB; the streams' own messages stay below it.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  s.stub = v1::Quantizer::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", s.server->grpc_port()), grpc::InsecureChannelCredentials(), args));
  return s;
}

std::string Floats(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = std::sin(0.0007f * i) * (1 + i % 11);
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

struct Streamed {
  grpc::Status status;
  std::vector<v1::QuantizeStreamResponse> messages;
  std::string data;
};

// Sends the header and `data` in chunks of `chunk` bytes; collects the answers.
Streamed QuantizeStreamed(v1::Quantizer::Stub& stub, const v1::QuantizeStreamHeader& header,
                          const std::string& data, size_t chunk) {
  grpc::ClientContext context;
  auto stream = stub.QuantizeStream(&context);
  v1::QuantizeStreamRequest request;
  *request.mutable_header() = header;
  Streamed out;
  // The server reads one message, then may write before it reads on: write
  // everything from a second thread so both directions flow.
  std::thread writer([&] {
    bool ok = stream->Write(request);
    for (size_t at = 0; ok && at < data.size(); at += chunk) {
      v1::QuantizeStreamRequest piece;
      piece.set_data(data.substr(at, chunk));
      ok = stream->Write(piece);
    }
    stream->WritesDone();
  });
  v1::QuantizeStreamResponse response;
  while (stream->Read(&response)) {
    if (response.msg_case() == v1::QuantizeStreamResponse::kData) out.data += response.data();
    out.messages.push_back(response);
  }
  writer.join();
  out.status = stream->Finish();
  return out;
}

v1::QuantizeStreamHeader Header(int64_t n, v1::DType target) {
  v1::QuantizeStreamHeader h;
  h.set_dtype(v1::DTYPE_FLOAT32);
  h.add_shape(n / 256);
  h.add_shape(256);
  h.mutable_options()->set_dtype(target);
  return h;
}

v1::QuantizeResponse Unary(v1::Quantizer::Stub& stub, const v1::QuantizeStreamHeader& h,
                           const std::string& data) {
  v1::QuantizeRequest request;
  request.mutable_input()->set_dtype(h.dtype());
  *request.mutable_input()->mutable_shape() = h.shape();
  request.mutable_input()->set_data(data);
  *request.mutable_options() = h.options();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::QuantizeResponse response;
  EXPECT_TRUE(stub.Quantize(&context, request, &response).ok());
  return response;
}

TEST(StreamTest, WindowedAndBufferedQuantizeEqualTheUnaryCall) {
  Server s = Start(int64_t{64} << 20);
  const int64_t n = 1'200'128;  // Two full windows and a partial one.
  const std::string data = Floats(n);
  for (v1::DType target : {v1::DTYPE_INT8, v1::DTYPE_INT4, v1::DTYPE_NF4}) {
    v1::QuantizeStreamHeader buffered = Header(n, target);
    buffered.mutable_options()->set_granularity(v1::GRANULARITY_PER_GROUP);
    buffered.mutable_options()->set_axis(1);
    buffered.mutable_options()->set_group_size(64);
    const v1::QuantizeResponse want = Unary(*s.stub, buffered, data);
    // The range from the whole tensor: buffered, then answered in chunks.
    Streamed b = QuantizeStreamed(*s.stub, buffered, data, 1'000'003);
    ASSERT_TRUE(b.status.ok()) << b.status.error_message();
    EXPECT_EQ(b.messages.front().params().SerializeAsString(), want.params().SerializeAsString());
    EXPECT_EQ(b.data, want.output().data());
    EXPECT_EQ(b.messages.back().error().sqnr_db(), want.error().sqnr_db());
    // Explicit params: a bounded window, the same bytes and error.
    v1::QuantizeStreamHeader windowed = Header(n, target);
    *windowed.mutable_options()->mutable_params() = want.params();
    Streamed w = QuantizeStreamed(*s.stub, windowed, data, 777'777);
    ASSERT_TRUE(w.status.ok()) << w.status.error_message();
    EXPECT_EQ(w.data, want.output().data());
    EXPECT_EQ(w.messages.back().error().sqnr_db(), want.error().sqnr_db());
    EXPECT_EQ(w.messages.back().error().count(), n);
    EXPECT_GT(w.messages.size(), 4u);  // Params, windows, error.

    // DequantizeStream: the codes back, equal to the unary Dequantize.
    grpc::ClientContext context;
    auto stream = s.stub->DequantizeStream(&context);
    v1::DequantizeStreamRequest header;
    *header.mutable_header()->mutable_params() = want.params();
    header.mutable_header()->set_dtype(target);
    *header.mutable_header()->mutable_shape() = buffered.shape();
    std::thread writer([&] {
      bool ok = stream->Write(header);
      const std::string& codes = want.output().data();
      for (size_t at = 0; ok && at < codes.size(); at += 300'001) {
        v1::DequantizeStreamRequest piece;
        piece.set_data(codes.substr(at, 300'001));
        ok = stream->Write(piece);
      }
      stream->WritesDone();
    });
    std::string back;
    v1::DequantizeStreamResponse response;
    while (stream->Read(&response)) back += response.data();
    writer.join();
    ASSERT_TRUE(stream->Finish().ok());
    v1::DequantizeRequest unary;
    *unary.mutable_input() = want.output();
    *unary.mutable_params() = want.params();
    grpc::ClientContext unary_context;
    v1::DequantizeResponse unary_response;
    ASSERT_TRUE(s.stub->Dequantize(&unary_context, unary, &unary_response).ok());
    EXPECT_EQ(back, unary_response.output().data());
  }
}

TEST(StreamTest, RefusalsNameWhatIsWrong) {
  Server s = Start(int64_t{1} << 20);
  const std::string data = Floats(4096);
  // The range needs the whole tensor, which is over the buffer limit.
  Streamed big = QuantizeStreamed(*s.stub, Header(int64_t{1} << 20, v1::DTYPE_INT8), "", 4096);
  EXPECT_EQ(big.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(big.status.error_message(), HasSubstr("above --max_buffer_bytes=1048576"));
  // Fewer bytes than the shape promises, and more.
  Streamed short_stream = QuantizeStreamed(*s.stub, Header(8192, v1::DTYPE_INT8), data, 1000);
  EXPECT_EQ(short_stream.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(short_stream.status.error_message(), HasSubstr("ended after 16384 bytes"));
  Streamed long_stream = QuantizeStreamed(*s.stub, Header(2048, v1::DTYPE_INT8), data, 1000);
  EXPECT_THAT(long_stream.status.error_message(), HasSubstr("more than the 8192"));
  // No header first.
  grpc::ClientContext context;
  auto stream = s.stub->QuantizeStream(&context);
  v1::QuantizeStreamRequest piece;
  piece.set_data("abcd");
  stream->Write(piece);
  stream->WritesDone();
  v1::QuantizeStreamResponse r;
  while (stream->Read(&r)) {
  }
  EXPECT_THAT(stream->Finish().error_message(), HasSubstr("the first message must be the header"));
}

// A stream that buffers a whole tensor holds it against
// --max_server_memory_bytes from its header on, like a unary call's
// request: two such streams that together exceed the budget cannot both
// run, and the budget comes back when a stream ends.
TEST(StreamTest, BufferedStreamsShareTheServerMemoryBudget) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "127.0.0.1:0";
  options.max_message_bytes = int64_t{1} << 20;
  options.max_server_memory_bytes = int64_t{4} << 20;
  auto server = QuantdServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::Quantizer::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*server)->grpc_port()), grpc::InsecureChannelCredentials()));
  // 3 MiB of float32 and 0.75 MiB of INT8 codes: one fits in 4 MiB, two do not.
  const int64_t n = int64_t{3} << 18;
  const std::string data = Floats(n);
  v1::QuantizeStreamRequest header;
  *header.mutable_header() = Header(n, v1::DTYPE_INT8);

  // The first stream sends its header and holds its reservation...
  grpc::ClientContext first_context;
  auto first = stub->QuantizeStream(&first_context);
  ASSERT_TRUE(first->Write(header));
  ASSERT_TRUE(Eventually([&] { return (*server)->gate().held_bytes() >= n * 5; }));
  // ...so the second is refused at its header, naming the limit.
  Streamed second = QuantizeStreamed(*stub, header.header(), data, 1 << 19);
  EXPECT_EQ(second.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(second.status.error_message(), HasSubstr("--max_server_memory_bytes=4194304"));
  // The first completes with its answer.
  for (size_t at = 0; at < data.size(); at += 1 << 19) {
    v1::QuantizeStreamRequest piece;
    piece.set_data(data.substr(at, 1 << 19));
    ASSERT_TRUE(first->Write(piece));
  }
  first->WritesDone();
  v1::QuantizeStreamResponse response;
  std::string codes;
  while (first->Read(&response)) codes += response.data();
  EXPECT_TRUE(first->Finish().ok());
  EXPECT_EQ(static_cast<int64_t>(codes.size()), n);
  // Its bytes are given back: another stream runs.
  ASSERT_TRUE(Eventually([&] { return (*server)->gate().held_bytes() == 0; }));
  Streamed third = QuantizeStreamed(*stub, header.header(), data, 1 << 19);
  EXPECT_TRUE(third.status.ok()) << third.status.error_message();
  EXPECT_EQ(static_cast<int64_t>(third.data.size()), n);
}

}  // namespace
}  // namespace quantd::server
