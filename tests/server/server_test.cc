// quantd over real gRPC on loopback: results, every bad input's status (and
// that the server keeps serving after it), health, message limits, metrics
// and draining. QuantizedMatMul has its own file, matmul_test.cc.
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "http_get.h"
#include "kernels/kernels.h"
#include "quantd/malloc_tuning.h"
#include "quantd/v1/quantd.grpc.pb.h"
#include "server/quantd_server.h"

namespace quantd::server {
namespace {

using ::testing::HasSubstr;

std::string FloatBytes(const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

template <typename T>
std::vector<T> Values(const std::string& bytes) {
  std::vector<T> values(bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

v1::QuantizeRequest Int8Request(std::vector<int64_t> shape, const std::vector<float>& values) {
  v1::QuantizeRequest request;
  request.mutable_input()->set_dtype(v1::DTYPE_FLOAT32);
  for (int64_t d : shape) request.mutable_input()->add_shape(d);
  request.mutable_input()->set_data(FloatBytes(values));
  request.mutable_options()->set_dtype(v1::DTYPE_INT8);
  return request;
}

struct Connection {
  std::unique_ptr<QuantdServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Quantizer::Stub> stub;
};

Connection StartServer(ServerOptions options = {}) {
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "127.0.0.1:0";
  auto server = QuantdServer::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  Connection c;
  c.server = std::move(*server);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  c.channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", c.server->grpc_port()),
                                        grpc::InsecureChannelCredentials(), args);
  c.stub = v1::Quantizer::NewStub(c.channel);
  return c;
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { connection_ = new Connection(StartServer()); }
  static void TearDownTestSuite() {
    delete connection_;
    connection_ = nullptr;
  }

  v1::Quantizer::Stub& stub() { return *connection_->stub; }

  grpc::Status Quantize(const v1::QuantizeRequest& request, v1::QuantizeResponse* response) {
    grpc::ClientContext context;
    return stub().Quantize(&context, request, response);
  }
  grpc::Status Dequantize(const v1::DequantizeRequest& request, v1::DequantizeResponse* response) {
    grpc::ClientContext context;
    return stub().Dequantize(&context, request, response);
  }

  // The server still answers a good request correctly.
  void ExpectStillServing() {
    v1::QuantizeResponse response;
    ASSERT_TRUE(Quantize(Int8Request({2}, {-127, 63}), &response).ok());
    EXPECT_EQ(Values<int8_t>(response.output().data()), (std::vector<int8_t>{-127, 63}));
  }

  static Connection* connection_;
};

Connection* ServerTest::connection_ = nullptr;

TEST_F(ServerTest, QuantizeInt8PerTensor) {
  v1::QuantizeResponse response;
  const grpc::Status status = Quantize(Int8Request({2, 3}, {-127, -1.5, -0.5, 0.5, 2.5, 127}), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.output().dtype(), v1::DTYPE_INT8);
  EXPECT_THAT(response.output().shape(), ::testing::ElementsAre(2, 3));
  EXPECT_EQ(Values<int8_t>(response.output().data()), (std::vector<int8_t>{-127, -2, 0, 0, 2, 127}));
  const v1::QuantParams& params = response.params();
  EXPECT_EQ(params.dtype(), v1::DTYPE_INT8);
  EXPECT_EQ(params.scheme(), v1::SCHEME_SYMMETRIC);
  EXPECT_EQ(params.granularity(), v1::GRANULARITY_PER_TENSOR);
  EXPECT_EQ(params.scale_dtype(), v1::DTYPE_FLOAT32);
  EXPECT_THAT(params.scales(), ::testing::ElementsAre(1.0f));
  EXPECT_EQ(params.zero_points_size(), 0);
  EXPECT_EQ(response.error().count(), 6);
  EXPECT_DOUBLE_EQ(response.error().sum_abs_error(), 2.0);
  EXPECT_DOUBLE_EQ(response.error().max_abs_error(), 0.5);
  EXPECT_EQ(response.error().clipped_count(), 0);
  EXPECT_FALSE(response.has_dequantized());
}

TEST_F(ServerTest, PerChannelUint8RoundTripThroughDequantize) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.5f, 2.0f);
  std::vector<float> values(4 * 33);
  for (float& v : values) v = normal(rng);
  v1::QuantizeRequest request = Int8Request({4, 33}, values);
  request.mutable_options()->set_dtype(v1::DTYPE_UINT8);
  request.mutable_options()->set_granularity(v1::GRANULARITY_PER_CHANNEL);
  request.mutable_options()->set_axis(-2);
  request.mutable_options()->set_return_dequantized(true);
  v1::QuantizeResponse quantized;
  ASSERT_TRUE(Quantize(request, &quantized).ok());
  EXPECT_EQ(quantized.params().scheme(), v1::SCHEME_ASYMMETRIC);
  EXPECT_EQ(quantized.params().axis(), 0);
  EXPECT_EQ(quantized.params().scales_size(), 4);
  EXPECT_EQ(quantized.params().zero_points_size(), 4);
  EXPECT_GT(quantized.error().sqnr_db(), 35);  // About 6 dB per bit of 8.

  v1::DequantizeRequest dequantize;
  *dequantize.mutable_input() = quantized.output();
  *dequantize.mutable_params() = quantized.params();
  v1::DequantizeResponse dequantized;
  ASSERT_TRUE(Dequantize(dequantize, &dequantized).ok());
  EXPECT_EQ(dequantized.output().dtype(), v1::DTYPE_FLOAT32);
  // The fake-quantized tensor of Quantize is exactly Dequantize's answer.
  EXPECT_EQ(dequantized.output().data(), quantized.dequantized().data());
  double max_error = 0;
  const std::vector<float> y = Values<float>(dequantized.output().data());
  for (size_t i = 0; i < values.size(); ++i) {
    max_error = std::max(max_error, std::fabs(double{values[i]} - y[i]));
  }
  EXPECT_EQ(max_error, quantized.error().max_abs_error());
}

TEST_F(ServerTest, EmptyAndConstantTensors) {
  v1::QuantizeResponse response;
  ASSERT_TRUE(Quantize(Int8Request({0, 3}, {}), &response).ok());
  EXPECT_TRUE(response.output().data().empty());
  EXPECT_EQ(response.error().count(), 0);
  EXPECT_EQ(response.error().sqnr_db(), std::numeric_limits<double>::infinity());

  ASSERT_TRUE(Quantize(Int8Request({5}, std::vector<float>(5, 0.0f)), &response).ok());
  EXPECT_EQ(response.params().scales(0), 1.0f);
  EXPECT_EQ(response.error().max_abs_error(), 0);

  ASSERT_TRUE(Quantize(Int8Request({5}, std::vector<float>(5, -3.7f)), &response).ok());
  EXPECT_GT(response.params().scales(0), 0);
  EXPECT_EQ(response.error().max_abs_error(), 0);
}

struct BadQuantize {
  const char* name;
  std::function<void(v1::QuantizeRequest*)> mutate;
  grpc::StatusCode code;
  const char* message;
};

TEST_F(ServerTest, BadQuantizeRequestsAreRejectedAndTheServerKeepsServing) {
  const float kNan = std::numeric_limits<float>::quiet_NaN();
  const float kInf = std::numeric_limits<float>::infinity();
  using grpc::StatusCode;
  const std::vector<BadQuantize> cases = {
      {"short data", [](auto* r) { r->mutable_input()->mutable_data()->pop_back(); },
       StatusCode::INVALID_ARGUMENT, "input.data has 23 bytes, but shape [2, 3] of FLOAT32 needs 24"},
      {"negative dimension", [](auto* r) { r->mutable_input()->set_shape(1, -3); },
       StatusCode::INVALID_ARGUMENT, "input.shape[1] = -3 is negative"},
      {"overflowing shape",
       [](auto* r) {
         r->mutable_input()->set_shape(0, int64_t{1} << 40);
         r->mutable_input()->set_shape(1, int64_t{1} << 40);
       },
       StatusCode::INVALID_ARGUMENT, "more elements than the limit"},
      {"absurd shape",
       [](auto* r) {
         r->mutable_input()->clear_shape();
         r->mutable_input()->add_shape(int64_t{1} << 50);
       },
       StatusCode::INVALID_ARGUMENT, "more elements than the limit"},
      {"unknown input dtype", [](auto* r) { r->mutable_input()->set_dtype(static_cast<v1::DType>(99)); },
       StatusCode::INVALID_ARGUMENT, "input.dtype = 99 is not a known DType"},
      {"unspecified input dtype", [](auto* r) { r->mutable_input()->set_dtype(v1::DTYPE_UNSPECIFIED); },
       StatusCode::INVALID_ARGUMENT, "input.dtype is DTYPE_UNSPECIFIED"},
      {"unspecified target dtype", [](auto* r) { r->mutable_options()->set_dtype(v1::DTYPE_UNSPECIFIED); },
       StatusCode::INVALID_ARGUMENT, "options.dtype is DTYPE_UNSPECIFIED"},
      {"unknown scheme", [](auto* r) { r->mutable_options()->set_scheme(static_cast<v1::Scheme>(9)); },
       StatusCode::INVALID_ARGUMENT, "options.scheme = 9 is not a known Scheme"},
      {"unknown granularity",
       [](auto* r) { r->mutable_options()->set_granularity(static_cast<v1::Granularity>(8)); },
       StatusCode::INVALID_ARGUMENT, "options.granularity = 8"},
      {"unknown rounding", [](auto* r) { r->mutable_options()->set_rounding(static_cast<v1::Rounding>(77)); },
       StatusCode::INVALID_ARGUMENT, "options.rounding = 77"},
      {"unknown range method",
       [](auto* r) { r->mutable_options()->set_range_method(static_cast<v1::RangeMethod>(31)); },
       StatusCode::INVALID_ARGUMENT, "options.range_method = 31"},
      {"axis out of range",
       [](auto* r) {
         r->mutable_options()->set_granularity(v1::GRANULARITY_PER_CHANNEL);
         r->mutable_options()->set_axis(-3);
       },
       StatusCode::INVALID_ARGUMENT, "options.axis = -3 is out of range for a tensor of rank 2"},
      {"group size zero",
       [](auto* r) {
         r->mutable_options()->set_granularity(v1::GRANULARITY_PER_GROUP);
         r->mutable_options()->set_group_size(0);
       },
       StatusCode::INVALID_ARGUMENT, "options.group_size = 0 must be positive"},
      {"wrong scale count",
       [](auto* r) {
         v1::QuantParams* p = r->mutable_options()->mutable_params();
         p->set_dtype(v1::DTYPE_INT8);
         p->set_granularity(v1::GRANULARITY_PER_CHANNEL);
         p->add_scales(1);
       },
       StatusCode::INVALID_ARGUMENT, "options.params.scales has 1 values, but PER_CHANNEL needs 2 (shape[0])"},
      {"zero scale",
       [](auto* r) {
         r->mutable_options()->mutable_params()->set_dtype(v1::DTYPE_INT8);
         r->mutable_options()->mutable_params()->add_scales(0);
       },
       StatusCode::INVALID_ARGUMENT, "options.params.scales[0] = 0"},
      {"negative scale",
       [](auto* r) {
         r->mutable_options()->mutable_params()->set_dtype(v1::DTYPE_INT8);
         r->mutable_options()->mutable_params()->add_scales(-0.5f);
       },
       StatusCode::INVALID_ARGUMENT, "options.params.scales[0] = -0.5"},
      {"nan scale",
       [kNan](auto* r) {
         r->mutable_options()->mutable_params()->set_dtype(v1::DTYPE_INT8);
         r->mutable_options()->mutable_params()->add_scales(kNan);
       },
       StatusCode::INVALID_ARGUMENT, "options.params.scales[0] = nan"},
      {"infinite scale",
       [kInf](auto* r) {
         r->mutable_options()->mutable_params()->set_dtype(v1::DTYPE_INT8);
         r->mutable_options()->mutable_params()->add_scales(kInf);
       },
       StatusCode::INVALID_ARGUMENT, "options.params.scales[0] = inf"},
      {"wrong zero point count",
       [](auto* r) {
         v1::QuantParams* p = r->mutable_options()->mutable_params();
         p->set_dtype(v1::DTYPE_UINT8);
         p->add_scales(1);
       },
       StatusCode::INVALID_ARGUMENT, "options.params.zero_points has 0 values, but ASYMMETRIC needs one per scale (1)"},
      {"zero point out of range",
       [](auto* r) {
         v1::QuantParams* p = r->mutable_options()->mutable_params();
         p->set_dtype(v1::DTYPE_UINT8);
         p->add_scales(1);
         p->add_zero_points(256);
       },
       StatusCode::INVALID_ARGUMENT, "options.params.zero_points[0] = 256 is outside UINT8's range [0, 255]"},
      {"nan input",
       [kNan](auto* r) {
         float v = kNan;
         std::memcpy(r->mutable_input()->mutable_data()->data() + 8, &v, 4);
       },
       StatusCode::INVALID_ARGUMENT, "input.data[2] = nan"},
      {"inf input",
       [kInf](auto* r) {
         float v = -kInf;
         std::memcpy(r->mutable_input()->mutable_data()->data() + 20, &v, 4);
       },
       StatusCode::INVALID_ARGUMENT, "input.data[5] = -inf"},
      {"quantized input", [](auto* r) { r->mutable_input()->set_dtype(v1::DTYPE_INT32); },
       StatusCode::INVALID_ARGUMENT, "input.dtype INT32 cannot be quantized"},
      {"asymmetric float target",
       [](auto* r) {
         r->mutable_options()->set_dtype(v1::DTYPE_FLOAT8_E5M2);
         r->mutable_options()->set_scheme(v1::SCHEME_ASYMMETRIC);
       },
       StatusCode::INVALID_ARGUMENT, "FLOAT8_E5M2, which is symmetric only"},
  };
  for (const BadQuantize& c : cases) {
    SCOPED_TRACE(c.name);
    v1::QuantizeRequest request = Int8Request({2, 3}, {1, 2, 3, 4, 5, 6});
    c.mutate(&request);
    v1::QuantizeResponse response;
    const grpc::Status status = Quantize(request, &response);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
    ExpectStillServing();
  }
}

TEST_F(ServerTest, BadDequantizeRequests) {
  v1::DequantizeRequest good;
  good.mutable_input()->set_dtype(v1::DTYPE_INT8);
  good.mutable_input()->add_shape(2);
  good.mutable_input()->set_data(std::string("\x01\xff", 2));
  good.mutable_params()->set_dtype(v1::DTYPE_INT8);
  good.mutable_params()->add_scales(0.5f);
  v1::DequantizeResponse response;
  ASSERT_TRUE(Dequantize(good, &response).ok());
  EXPECT_EQ(Values<float>(response.output().data()), (std::vector<float>{0.5f, -0.5f}));

  const std::vector<std::pair<std::function<void(v1::DequantizeRequest*)>, const char*>> cases = {
      {[](auto* r) { r->mutable_params()->set_dtype(v1::DTYPE_UINT8); },
       "input.dtype INT8 differs from params.dtype UINT8"},
      {[](auto* r) { r->set_output_dtype(v1::DTYPE_INT8); }, "output_dtype INT8 is not a Dequantize output"},
      {[](auto* r) { r->set_output_dtype(static_cast<v1::DType>(1234)); }, "output_dtype = 1234"},
      {[](auto* r) { r->mutable_params()->add_scales(1); }, "params.scales has 2 values, but PER_TENSOR needs 1"},
      {[](auto* r) { r->mutable_input()->add_shape(2); }, "input.data has 2 bytes, but shape [2, 2] of INT8 needs 4"},
      {[](auto* r) { r->mutable_params()->add_zero_points(0); }, "SYMMETRIC takes none"},
      {[](auto* r) { r->mutable_params()->set_dtype(v1::DTYPE_UNSPECIFIED); }, "params.dtype is DTYPE_UNSPECIFIED"},
  };
  for (const auto& [mutate, message] : cases) {
    v1::DequantizeRequest request = good;
    mutate(&request);
    const grpc::Status status = Dequantize(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << message;
    EXPECT_THAT(status.error_message(), HasSubstr(message));
    ExpectStillServing();
  }
}

TEST_F(ServerTest, AnalyzeSweepsTheDefaultFormatsAndMarksTheFront) {
  std::vector<float> values(8 * 128);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.1f * i) * (1 + i % 5);
  v1::AnalyzeRequest request;
  *request.mutable_input() = Int8Request({8, 128}, values).input();
  grpc::ClientContext context;
  v1::AnalyzeResponse response;
  const grpc::Status s = stub().Analyze(&context, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.rows_size(), 17);
  EXPECT_EQ(response.rows(0).options().dtype(), v1::DTYPE_BINARY);
  EXPECT_EQ(response.rows(16).options().dtype(), v1::DTYPE_BFLOAT16);
  EXPECT_EQ(response.rows(12).options().scale_dtype(), v1::DTYPE_E8M0);
  EXPECT_DOUBLE_EQ(response.rows(2).bits_per_element(), 5.0);  // INT4, group 32, fp32 scales.
  int front = 0;
  for (const v1::AnalyzeRow& row : response.rows()) {
    front += row.pareto();
    EXPECT_EQ(row.error().count(), 8 * 128);
  }
  EXPECT_GE(front, 2);
  EXPECT_LT(front, 17);
}

TEST_F(ServerTest, AutoPicksAFormatThatMeetsTheBudget) {
  std::vector<float> values(4 * 256);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::cos(0.37f * i);
  v1::QuantizeRequest request = Int8Request({4, 256}, values);
  request.mutable_options()->set_dtype(v1::DTYPE_AUTO);
  request.mutable_options()->mutable_max_error()->set_min_sqnr_db(30);
  v1::QuantizeResponse response;
  ASSERT_TRUE(Quantize(request, &response).ok());
  EXPECT_TRUE(response.budget_met());
  EXPECT_GE(response.error().sqnr_db(), 30);
  EXPECT_EQ(response.output().dtype(), response.params().dtype());
  EXPECT_NE(response.params().dtype(), v1::DTYPE_AUTO);
  request.mutable_options()->clear_max_error();
  const grpc::Status s = Quantize(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("AUTO needs options.max_error"));
}

// Streams `batches` after a first message of `options`; returns the status.
grpc::Status CalibrateStream(v1::Quantizer::Stub& stub, const v1::CalibrateOptions& options,
                             const std::vector<v1::Tensor>& batches, v1::CalibrateResponse* response) {
  grpc::ClientContext context;
  auto writer = stub.Calibrate(&context, response);
  v1::CalibrateRequest first;
  *first.mutable_options() = options;
  if (!writer->Write(first)) return writer->Finish();
  for (const v1::Tensor& batch : batches) {
    v1::CalibrateRequest request;
    *request.mutable_batch() = batch;
    if (!writer->Write(request)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

TEST_F(ServerTest, CalibrateStreamsBatchesAndMergesStates) {
  std::vector<v1::Tensor> batches;
  for (int b = 0; b < 6; ++b) {
    std::vector<float> v(2 * 8);
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.3f * (i + 16 * b)) * (1 + b);
    batches.push_back(Int8Request({2, 8}, v).input());
  }
  v1::CalibrateOptions options;
  options.set_method(v1::RANGE_METHOD_PERCENTILE);
  options.set_dtype(v1::DTYPE_INT8);
  options.set_granularity(v1::GRANULARITY_PER_CHANNEL);
  options.set_axis(-1);
  options.set_num_bins(64);
  v1::CalibrateResponse whole;
  ASSERT_TRUE(CalibrateStream(stub(), options, batches, &whole).ok());
  EXPECT_EQ(whole.params().scales_size(), 8);
  EXPECT_EQ(whole.params().axis(), 1);
  EXPECT_EQ(whole.stats().batches_seen(), 6);
  EXPECT_EQ(whole.stats().values_seen(), 96);

  // Two streams of three batches, then a stream that only merges.
  v1::CalibrateResponse a, b, merged;
  ASSERT_TRUE(CalibrateStream(stub(), options, {batches[5], batches[0], batches[2]}, &a).ok());
  ASSERT_TRUE(CalibrateStream(stub(), options, {batches[1], batches[4], batches[3]}, &b).ok());
  v1::CalibrateOptions merge = options;
  *merge.add_merge() = b.state();
  *merge.add_merge() = a.state();
  ASSERT_TRUE(CalibrateStream(stub(), merge, {}, &merged).ok());
  EXPECT_EQ(merged.params().SerializeAsString(), whole.params().SerializeAsString());

  // The parameters feed Quantize unchanged.
  v1::QuantizeRequest q = Int8Request({2, 8}, std::vector<float>(16, 0.5f));
  *q.mutable_options()->mutable_params() = whole.params();
  v1::QuantizeResponse qr;
  EXPECT_TRUE(Quantize(q, &qr).ok());

  const auto page = quantd::testing::HttpGet(connection_->server->metrics_port(), "/metrics");
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(*page, HasSubstr("quantd_calibrations_total{method=\"PERCENTILE\"} 4"));
  EXPECT_THAT(*page, HasSubstr("quantd_calibration_clip_fraction_count{method=\"PERCENTILE\"}"));
  EXPECT_THAT(*page, HasSubstr("quantd_elements_total{dtype=\"FLOAT32\",op=\"calibrate\"} 192"));
}

TEST_F(ServerTest, CalibrateRejectsBadStreamsNamingTheBatch) {
  v1::CalibrateOptions options;
  options.set_dtype(v1::DTYPE_INT8);
  options.set_granularity(v1::GRANULARITY_PER_CHANNEL);
  v1::CalibrateResponse response;
  grpc::Status s = CalibrateStream(stub(), options,
                                   {Int8Request({2, 3}, {1, 2, 3, 4, 5, 6}).input(),
                                    Int8Request({3, 3}, std::vector<float>(9, 1)).input()},
                                   &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("batch 1: it has parameter slots [3]"));
  s = CalibrateStream(stub(), options, {Int8Request({1, 2}, {1, NAN}).input()}, &response);
  EXPECT_THAT(s.error_message(), HasSubstr("batch 0: batch.data[1] = nan"));
  options.set_method(v1::RANGE_METHOD_MOVING_AVERAGE_MINMAX);
  v1::CalibrateResponse ok;
  ASSERT_TRUE(CalibrateStream(stub(), options, {Int8Request({1, 2}, {1, 2}).input()}, &ok).ok());
  *options.add_merge() = ok.state();
  s = CalibrateStream(stub(), options, {}, &response);
  EXPECT_THAT(s.error_message(), HasSubstr("cannot be merged"));
  {
    grpc::ClientContext context;
    auto writer = stub().Calibrate(&context, &response);
    writer->WritesDone();
    s = writer->Finish();
    EXPECT_THAT(s.error_message(), HasSubstr("the first must carry options"));
  }
  ExpectStillServing();
}

TEST_F(ServerTest, AnAbandonedCalibrationEndsAtOnce) {
  v1::CalibrateOptions options;
  options.set_dtype(v1::DTYPE_INT8);
  options.set_method(v1::RANGE_METHOD_ENTROPY);
  v1::CalibrateResponse response;
  grpc::ClientContext context;
  auto writer = stub().Calibrate(&context, &response);
  v1::CalibrateRequest first;
  *first.mutable_options() = options;
  ASSERT_TRUE(writer->Write(first));
  v1::CalibrateRequest batch;
  *batch.mutable_batch() = Int8Request({1024}, std::vector<float>(1024, 1.5f)).input();
  ASSERT_TRUE(writer->Write(batch));
  context.TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The stream's reactor is gone: nothing is in flight any more.
  for (int i = 0; i < 100; ++i) {
    const auto page = quantd::testing::HttpGet(connection_->server->metrics_port(), "/metrics");
    if (page.ok() && page->find("quantd_inflight_requests 0") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "quantd_inflight_requests did not return to 0";
}

TEST_F(ServerTest, HealthIsServingForLivenessAndReadiness) {
  auto health = grpc::health::v1::Health::NewStub(connection_->channel);
  for (const char* service : {"", "quantd.v1.Quantizer"}) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, request, &response).ok()) << service;
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
}

// A server of its own, so that the counts are this test's alone whatever
// ran before it in the process.
TEST(ServerMetricsTest, MetricsReportRpcsAndQuantization) {
  Connection c = StartServer();
  auto quantize = [&c](const v1::QuantizeRequest& request, v1::QuantizeResponse* response) {
    grpc::ClientContext context;
    return c.stub->Quantize(&context, request, response);
  };
  v1::QuantizeResponse response;
  ASSERT_TRUE(quantize(Int8Request({3}, {1, 2, 3}), &response).ok());
  v1::QuantizeRequest bad = Int8Request({3}, {1, 2, 3});
  bad.mutable_input()->add_shape(-1);
  EXPECT_FALSE(quantize(bad, &response).ok());
  v1::QuantizeRequest nf4 = Int8Request({2, 64}, std::vector<float>(128, 0.25f));
  nf4.mutable_options()->set_dtype(v1::DTYPE_NF4);
  nf4.mutable_options()->set_granularity(v1::GRANULARITY_PER_GROUP);
  nf4.mutable_options()->set_axis(1);
  nf4.mutable_options()->set_group_size(32);
  nf4.mutable_input()->mutable_data()->at(0) = 1;  // Not exact: an SQNR to observe.
  ASSERT_TRUE(quantize(nf4, &response).ok());
  v1::AnalyzeRequest analyze;
  *analyze.mutable_input() = Int8Request({4}, {1, 2, 3, 4}).input();
  v1::AnalyzeResponse analyzed;
  grpc::ClientContext context;
  ASSERT_TRUE(c.stub->Analyze(&context, analyze, &analyzed).ok());

  const auto page = quantd::testing::HttpGet(c.server->metrics_port(), "/metrics");
  ASSERT_TRUE(page.ok()) << page.status();
  const std::string isa(IsaName(SelectKernels(Isa::kAvx512Vnni).isa));
  for (const std::string& expected : std::vector<std::string>{
           "# HELP grpc_server_started_total",
           "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Quantize\",grpc_service=\"quantd.v1.Quantizer\",grpc_type=\"unary\"}",
           "grpc_server_handled_total{grpc_code=\"InvalidArgument\",grpc_method=\"Quantize\"",
           "grpc_server_handling_seconds_bucket{grpc_method=\"Quantize\"",
           "grpc_server_msg_received_total{grpc_method=\"Quantize\"",
           "grpc_server_msg_sent_total{grpc_method=\"Quantize\"",
           "quantd_elements_total{dtype=\"INT8\",op=\"quantize\"}",
           "quantd_bytes_total{direction=\"in\",op=\"quantize\"}",
           "quantd_quantization_sqnr_db_bucket{dtype=\"INT8\",granularity=\"PER_TENSOR\"",
           "quantd_quantization_mse_count{dtype=\"INT8\",granularity=\"PER_TENSOR\"}",
           "quantd_quantization_max_abs_error_count{dtype=\"INT8\",granularity=\"PER_TENSOR\"}",
           "quantd_clipped_elements_total{dtype=\"INT8\"}",
           "quantd_elements_total{dtype=\"NF4\",op=\"quantize\"} 128",
           "quantd_quantization_sqnr_db_count{dtype=\"NF4\",granularity=\"PER_GROUP\"} 1",
           "quantd_clipped_elements_total{dtype=\"NF4\"} 0",
           "quantd_elements_total{dtype=\"FLOAT32\",op=\"analyze\"} 68",  // 4 x 17 formats.
           "quantd_kernel_seconds_count{isa=\"" + isa + "\",op=\"analyze\"} 1",
           "quantd_kernel_seconds_count{isa=\"" + isa + "\",op=\"quantize\"}",
           "quantd_inflight_requests 0",
           "quantd_pool_threads ",
           "quantd_build_info{isa=\"" + isa + "\",version=\"0.1.0\"} 1",
       }) {
    EXPECT_THAT(*page, HasSubstr(expected));
  }
}

TEST(ServerLimitsTest, OversizedMessageIsResourceExhaustedAndTheServerKeepsServing) {
  ServerOptions options;
  options.max_message_bytes = 1 << 20;
  Connection c = StartServer(options);
  v1::QuantizeRequest big = Int8Request({1 << 19}, std::vector<float>(1 << 19, 1.0f));  // 2 MiB.
  v1::QuantizeResponse response;
  {
    grpc::ClientContext context;
    const grpc::Status s = c.stub->Quantize(&context, big, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  }
  grpc::ClientContext context;
  ASSERT_TRUE(c.stub->Quantize(&context, Int8Request({1}, {1}), &response).ok());
}

TEST(ServerLimitsTest, BadServerOptionsAreRejected) {
  ServerOptions options;
  options.max_message_bytes = int64_t{1} << 40;
  EXPECT_THAT(QuantdServer::Start(options).status().message(), HasSubstr("--max_message_bytes"));
  ServerOptions negative_idle;
  negative_idle.idle_release_after = absl::Seconds(-1);
  EXPECT_THAT(QuantdServer::Start(negative_idle).status().message(),
              HasSubstr("--idle_release_after = -1s must be 0 (never) or positive"));
}

// A request cancelled mid-work stops using the pool within a block or so:
// the server is idle again long before the work would have finished. The
// work's own duration is measured on the same request run to completion, so
// the check holds on slow and fast machines alike.
TEST(ServerCancellationTest, CancelledRequestStopsItsKernelWork) {
  // As quantd's main does: reused message buffers stay faulted in, so the
  // time measured is the kernels', not the page faults'.
  TuneMallocForLargeMessages();
  ServerOptions options;
  options.threads = 1;
  options.max_isa = Isa::kScalar;  // Slow enough that the work takes a while.
  Connection c = StartServer(options);
  const v1::QuantizeRequest request =
      Int8Request({int64_t{1} << 25}, std::vector<float>(int64_t{1} << 25, 0.5f));
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto inflight = [&] { return c.server->metrics().inflight_requests.Value(); };
  // Runs the request; `cancel_at_start` cancels it once the server works on
  // it. Returns the time from the start of the work until the server is idle.
  auto run = [&](bool cancel_at_start, grpc::StatusCode* code) {
    grpc::ClientContext context;
    v1::QuantizeResponse response;
    std::thread caller([&] { *code = c.stub->Quantize(&context, request, &response).error_code(); });
    while (inflight() == 0) std::this_thread::yield();
    const auto started = now();
    if (cancel_at_start) context.TryCancel();
    while (inflight() > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    const auto idle = now();
    caller.join();
    return idle - started;
  };
  grpc::StatusCode code;
  const auto full = run(false, &code);
  ASSERT_EQ(code, grpc::StatusCode::OK);
  const auto cancelled = run(true, &code);
  EXPECT_EQ(code, grpc::StatusCode::CANCELLED);
  EXPECT_LT(cancelled, full / 4) << "full run " << std::chrono::duration<double>(full).count()
                                 << " s, cancelled " << std::chrono::duration<double>(cancelled).count()
                                 << " s";
}

// With the pool's queue full, a request is refused at once with
// RESOURCE_EXHAUSTED (and counted), and the request being worked on still
// gets its answer.
TEST(ServerBackPressureTest, FullQueueAnswersResourceExhaustedAtOnce) {
  TuneMallocForLargeMessages();
  ServerOptions options;
  options.threads = 1;
  options.max_pending_tasks = 1;
  options.max_isa = Isa::kScalar;  // The first request keeps the pool busy a while.
  Connection c = StartServer(options);
  const v1::QuantizeRequest big =
      Int8Request({int64_t{1} << 24}, std::vector<float>(int64_t{1} << 24, 0.5f));
  grpc::Status first_status;
  v1::QuantizeResponse first;
  std::thread caller([&] {
    grpc::ClientContext context;
    first_status = c.stub->Quantize(&context, big, &first);
  });
  while (c.server->metrics().inflight_requests.Value() == 0) std::this_thread::yield();
  grpc::ClientContext context;
  v1::QuantizeResponse response;
  const grpc::Status refused = c.stub->Quantize(&context, Int8Request({1}, {1}), &response);
  caller.join();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("the kernel pool's queue is full"));
  ASSERT_TRUE(first_status.ok()) << first_status.error_message();
  EXPECT_EQ(first.output().data().size(), size_t{1} << 24);
  const auto page = quantd::testing::HttpGet(c.server->metrics_port(), "/metrics");
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(*page, HasSubstr("quantd_rejected_requests_total{reason=\"pool_queue_full\"} 1"));
}

TEST(ServerDrainTest, AfterDrainNewCallsAreRefused) {
  Connection c = StartServer();
  v1::QuantizeResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(c.stub->Quantize(&context, Int8Request({1}, {1}), &response).ok());
  }
  c.server->Drain(std::chrono::seconds(5));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  const grpc::Status s = c.stub->Quantize(&context, Int8Request({1}, {1}), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

// The metrics endpoint's HTTP server polls in 2-second quanta; stopping
// quantd must not wait one out (every test and every rollout pays it).
TEST(ServerShutdownTest, MetricsEndpointStopsWithoutWaitingOutItsPoll) {
  Connection c = StartServer();
  ASSERT_TRUE(quantd::testing::HttpGet(c.server->metrics_port(), "/metrics").ok());
  const auto start = std::chrono::steady_clock::now();
  c.server.reset();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::milliseconds(1500))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

}  // namespace
}  // namespace quantd::server
