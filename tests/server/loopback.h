// A quantd started in-process on loopback ports with a plaintext channel to
// it, and small request builders, for the tests of the call gate.
#ifndef QUANTD_TESTS_SERVER_LOOPBACK_H_
#define QUANTD_TESTS_SERVER_LOOPBACK_H_

#include <cstring>
#include <memory>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "quantd/v1/quantd.grpc.pb.h"
#include "server/quantd_server.h"

namespace quantd::testing {

struct Loopback {
  std::unique_ptr<server::QuantdServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Quantizer::Stub> stub;
};

inline Loopback StartLoopback(server::ServerOptions options) {
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "127.0.0.1:0";
  auto started = server::QuantdServer::Start(options);
  EXPECT_TRUE(started.ok()) << started.status();
  Loopback l;
  if (!started.ok()) return l;
  l.server = std::move(*started);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  l.channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", l.server->grpc_port()),
                                        grpc::InsecureChannelCredentials(), args);
  l.stub = v1::Quantizer::NewStub(l.channel);
  return l;
}

// FLOAT32 [n] of `value`, quantized to INT8.
inline v1::QuantizeRequest Int8Request(int64_t n, float value = 0.5f) {
  std::vector<float> values(static_cast<size_t>(n), value);
  v1::QuantizeRequest request;
  request.mutable_input()->set_dtype(v1::DTYPE_FLOAT32);
  request.mutable_input()->add_shape(n);
  request.mutable_input()->mutable_data()->resize(values.size() * sizeof(float));
  if (n > 0) std::memcpy(request.mutable_input()->mutable_data()->data(), values.data(),
                         values.size() * sizeof(float));
  request.mutable_options()->set_dtype(v1::DTYPE_INT8);
  return request;
}

}  // namespace quantd::testing

#endif  // QUANTD_TESTS_SERVER_LOOPBACK_H_
