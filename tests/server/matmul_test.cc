// QuantizedMatMul over real gRPC on loopback: shapes and dtypes of the
// answer, products that are exact in integers, bias, outliers, the
// reference error, bad requests (and that the server keeps serving), the
// call gate, and the metrics a call leaves.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "http_get.h"
#include "kernels/kernels.h"
#include "loopback.h"
#include "server/held_bytes.h"

namespace quantd::server {
namespace {

using ::quantd::testing::Loopback;
using ::quantd::testing::StartLoopback;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T>
v1::Tensor MakeTensor(v1::DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  v1::Tensor tensor;
  tensor.set_dtype(dtype);
  for (int64_t d : shape) tensor.add_shape(d);
  tensor.mutable_data()->resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(tensor.mutable_data()->data(), values.data(), values.size() * sizeof(T));
  return tensor;
}

v1::Tensor Float32(std::vector<int64_t> shape, const std::vector<float>& values) {
  return MakeTensor(v1::DTYPE_FLOAT32, std::move(shape), values);
}

v1::Tensor Int8(std::vector<int64_t> shape, const std::vector<int8_t>& values) {
  return MakeTensor(v1::DTYPE_INT8, std::move(shape), values);
}

v1::QuantParams PerTensorInt8(float scale) {
  v1::QuantParams params;
  params.set_dtype(v1::DTYPE_INT8);
  params.set_scheme(v1::SCHEME_SYMMETRIC);
  params.add_scales(scale);
  return params;
}

template <typename T>
std::vector<T> Values(const std::string& bytes) {
  std::vector<T> values(bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

std::vector<float> Gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(n);
  for (float& v : values) v = normal(rng);
  return values;
}

// Row-major [m, k] · [k, n] in double.
std::vector<double> Product(const std::vector<float>& a, const std::vector<float>& b, int64_t m,
                            int64_t k, int64_t n) {
  std::vector<double> y(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t p = 0; p < k; ++p) y[i * n + j] += double{a[i * k + p]} * b[p * n + j];
    }
  }
  return y;
}

// ||y - want||_F / ||want||_F.
double RelativeError(const std::vector<float>& y, const std::vector<double>& want) {
  double error = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    error += (y[i] - want[i]) * (y[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(error / norm);
}

// A: int8 [2, 3] at scale 0.5, B: int8 [3, 2] at scale 0.25: the product is
// exact in float32. Y = 0.125 · A_q · B_q.
v1::MatMulRequest ExactInt8Request() {
  v1::MatMulRequest request;
  *request.mutable_a() = Int8({2, 3}, {1, -2, 3, 4, 5, -6});
  *request.mutable_a_params() = PerTensorInt8(0.5f);
  *request.mutable_b() = Int8({3, 2}, {7, -8, 9, 10, -11, 12});
  *request.mutable_b_params() = PerTensorInt8(0.25f);
  return request;
}

const std::vector<float> kExactProduct = {
    0.125f * (7 - 18 - 33), 0.125f * (-8 - 20 + 36),
    0.125f * (28 + 45 + 66), 0.125f * (-32 + 50 - 72)};

class MatMulTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { loopback_ = new Loopback(StartLoopback({})); }
  static void TearDownTestSuite() {
    delete loopback_;
    loopback_ = nullptr;
  }

  static grpc::Status MatMul(const v1::MatMulRequest& request, v1::MatMulResponse* response) {
    grpc::ClientContext context;
    return loopback_->stub->QuantizedMatMul(&context, request, response);
  }

  static std::string MetricsPage() {
    const auto page = quantd::testing::HttpGet(loopback_->server->metrics_port(), "/metrics");
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *page : "";
  }

  static Loopback* loopback_;
};

Loopback* MatMulTest::loopback_ = nullptr;

TEST_F(MatMulTest, PreQuantizedInt8OperandsGiveTheExactScaledProduct) {
  v1::MatMulResponse response;
  const grpc::Status status = MatMul(ExactInt8Request(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.output().dtype(), v1::DTYPE_FLOAT32);
  EXPECT_THAT(response.output().shape(), ElementsAre(2, 2));
  EXPECT_EQ(Values<float>(response.output().data()), kExactProduct);
  EXPECT_EQ(response.stats().outlier_columns(), 0);
  EXPECT_FALSE(response.stats().has_error());
}

TEST_F(MatMulTest, BiasIsAddedToEachRow) {
  v1::MatMulRequest request = ExactInt8Request();
  *request.mutable_bias() = Float32({2}, {1.5f, -4.0f});
  v1::MatMulResponse response;
  const grpc::Status status = MatMul(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<float> want = kExactProduct;
  for (size_t i = 0; i < want.size(); ++i) want[i] += i % 2 == 0 ? 1.5f : -4.0f;
  EXPECT_EQ(Values<float>(response.output().data()), want);
}

TEST_F(MatMulTest, FloatOperandsAreCloseToTheFloatProductInEitherLayoutOfB) {
  constexpr int64_t kM = 7, kK = 96, kN = 5;
  const std::vector<float> a = Gaussian(kM * kK, 1);
  const std::vector<float> b = Gaussian(kK * kN, 2);
  const std::vector<double> want = Product(a, b, kM, kK, kN);
  std::vector<float> b_t(b.size());  // [N, K].
  for (int64_t p = 0; p < kK; ++p) {
    for (int64_t j = 0; j < kN; ++j) b_t[j * kK + p] = b[p * kN + j];
  }
  v1::MatMulRequest request;
  *request.mutable_a() = Float32({kM, kK}, a);
  *request.mutable_b() = Float32({kK, kN}, b);
  request.set_compute_reference_error(true);
  v1::MatMulResponse plain, transposed;
  grpc::Status status = MatMul(request, &plain);
  ASSERT_TRUE(status.ok()) << status.error_message();
  *request.mutable_b() = Float32({kN, kK}, b_t);
  request.set_transpose_b(true);
  status = MatMul(request, &transposed);
  ASSERT_TRUE(status.ok()) << status.error_message();

  EXPECT_THAT(plain.output().shape(), ElementsAre(kM, kN));
  // The same codes and scales whichever layout B came in.
  EXPECT_EQ(plain.output().data(), transposed.output().data());
  // INT8 per row and per channel on Gaussian data: about 1 % of the norm
  // (each operand's rounding error is about amax/127/sqrt(12) per element).
  EXPECT_LT(RelativeError(Values<float>(plain.output().data()), want), 2e-2);
  ASSERT_TRUE(plain.stats().has_error());
  EXPECT_EQ(plain.stats().error().count(), kM * kN);
  EXPECT_GT(plain.stats().error().sqnr_db(), 30);
  EXPECT_LT(plain.stats().error().sqnr_db(), 60);
}

TEST_F(MatMulTest, OutputDtypesAreSixteenBitCastsOfTheFloat32Result) {
  constexpr int64_t kM = 3, kK = 16, kN = 4;
  v1::MatMulRequest request;
  *request.mutable_a() = Float32({kM, kK}, Gaussian(kM * kK, 3));
  *request.mutable_b() = Float32({kK, kN}, Gaussian(kK * kN, 4));
  v1::MatMulResponse f32;
  ASSERT_TRUE(MatMul(request, &f32).ok());
  const std::vector<float> y = Values<float>(f32.output().data());
  for (v1::DType dtype : {v1::DTYPE_BFLOAT16, v1::DTYPE_FLOAT16}) {
    SCOPED_TRACE(v1::DType_Name(dtype));
    request.set_output_dtype(dtype);
    v1::MatMulResponse response;
    const grpc::Status status = MatMul(request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.output().dtype(), dtype);
    EXPECT_THAT(response.output().shape(), ElementsAre(kM, kN));
    ASSERT_EQ(response.output().data().size(), static_cast<size_t>(kM * kN * 2));
    if (dtype != v1::DTYPE_BFLOAT16) continue;
    // BFLOAT16 is float32's upper half, rounded to nearest even.
    const std::vector<uint16_t> bits = Values<uint16_t>(response.output().data());
    for (size_t i = 0; i < y.size(); ++i) {
      uint32_t u;
      std::memcpy(&u, &y[i], 4);
      const uint32_t rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16;
      EXPECT_EQ(bits[i], rounded) << i;
    }
  }
}

TEST_F(MatMulTest, OutlierColumnsOfARunInFloat) {
  constexpr int64_t kM = 16, kK = 64, kN = 8;
  std::vector<float> a = Gaussian(kM * kK, 5);
  for (float& v : a) v *= 0.25f;
  for (int64_t i = 0; i < kM; ++i) a[i * kK + 9] = -67.0f + static_cast<float>(i % 3);
  const std::vector<float> b = Gaussian(kK * kN, 6);
  const std::vector<double> want = Product(a, b, kM, kK, kN);
  v1::MatMulRequest request;
  *request.mutable_a() = Float32({kM, kK}, a);
  *request.mutable_b() = Float32({kK, kN}, b);
  v1::MatMulResponse without, with;
  ASSERT_TRUE(MatMul(request, &without).ok());
  request.set_outlier_threshold(6.0f);
  const grpc::Status status = MatMul(request, &with);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(without.stats().outlier_columns(), 0);
  EXPECT_EQ(with.stats().outlier_columns(), 1);
  const double error_without = RelativeError(Values<float>(without.output().data()), want);
  const double error_with = RelativeError(Values<float>(with.output().data()), want);
  EXPECT_LT(error_with * 5, error_without) << error_with << " vs " << error_without;
}

TEST_F(MatMulTest, EmptyDimensionsGiveEmptyOutputs) {
  v1::MatMulRequest request;
  *request.mutable_a() = Float32({0, 4}, {});
  *request.mutable_b() = Float32({4, 3}, std::vector<float>(12, 1.0f));
  v1::MatMulResponse response;
  const grpc::Status status = MatMul(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.output().shape(), ElementsAre(0, 3));
  EXPECT_TRUE(response.output().data().empty());
}

struct BadMatMul {
  const char* name;
  std::function<void(v1::MatMulRequest*)> mutate;
  std::vector<const char*> message;  // Each must appear.
};

TEST_F(MatMulTest, BadRequestsAreInvalidArgumentNamingTheFieldAndTheServerKeepsServing) {
  const float kNan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<BadMatMul> cases = {
      {"mismatched K",
       [](auto* r) {
         *r->mutable_a() = Float32({2, 7}, std::vector<float>(14, 1.0f));
         *r->mutable_b() = Float32({11, 3}, std::vector<float>(33, 1.0f));
         r->clear_a_params();
         r->clear_b_params();
       },
       {"7", "11"}},
      {"mismatched K of a transposed b",
       [](auto* r) {
         *r->mutable_a() = Float32({2, 7}, std::vector<float>(14, 1.0f));
         *r->mutable_b() = Float32({3, 13}, std::vector<float>(39, 1.0f));
         r->clear_a_params();
         r->clear_b_params();
         r->set_transpose_b(true);
       },
       {"7", "13"}},
      {"a of rank 1", [](auto* r) { r->mutable_a()->set_shape(0, 6); r->mutable_a()->mutable_shape()->RemoveLast(); },
       {"a.shape has rank 1"}},
      {"b of rank 3", [](auto* r) { r->mutable_b()->add_shape(1); }, {"b.shape has rank 3"}},
      {"unknown a dtype", [](auto* r) { r->mutable_a()->set_dtype(static_cast<v1::DType>(99)); },
       {"a.dtype", "99"}},
      {"unknown output dtype",
       [](auto* r) { r->set_output_dtype(static_cast<v1::DType>(1234)); },
       {"output_dtype", "1234"}},
      {"unknown b_params scheme",
       [](auto* r) { r->mutable_b_params()->set_scheme(static_cast<v1::Scheme>(9)); },
       {"b_params.scheme", "9"}},
      {"nan in a",
       [kNan](auto* r) {
         *r->mutable_a() = Float32({2, 3}, {0.5f, 1.0f, 2.0f, kNan, 1.0f, 1.0f});
         r->clear_a_params();
       },
       {"a: ", "[3] = nan"}},
      {"quantized a without a_params", [](auto* r) { r->clear_a_params(); }, {"a_params"}},
      {"quantized b without b_params", [](auto* r) { r->clear_b_params(); }, {"b_params"}},
      {"bias of the wrong length", [](auto* r) { *r->mutable_bias() = Float32({3}, {1, 2, 3}); },
       {"bias", "3", "2"}},
      {"short a data", [](auto* r) { r->mutable_a()->mutable_data()->pop_back(); },
       {"a.data has 5 bytes"}},
  };
  for (const BadMatMul& c : cases) {
    SCOPED_TRACE(c.name);
    v1::MatMulRequest request = ExactInt8Request();
    c.mutate(&request);
    v1::MatMulResponse response;
    const grpc::Status status = MatMul(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    for (const char* part : c.message) EXPECT_THAT(status.error_message(), HasSubstr(part));
    v1::MatMulResponse good;
    ASSERT_TRUE(MatMul(ExactInt8Request(), &good).ok());
    EXPECT_EQ(Values<float>(good.output().data()), kExactProduct);
  }
}

TEST_F(MatMulTest, MetricsCountOperationsOutliersAndTheError) {
  constexpr int64_t kM = 4, kK = 32, kN = 3;
  std::vector<float> a = Gaussian(kM * kK, 7);
  a[5] = 40.0f;  // One outlier column.
  v1::MatMulRequest request;
  *request.mutable_a() = Float32({kM, kK}, a);
  *request.mutable_b() = Float32({kK, kN}, Gaussian(kK * kN, 8));
  request.set_outlier_threshold(6.0f);
  request.set_compute_reference_error(true);
  const std::string before = MetricsPage();
  v1::MatMulResponse response;
  const grpc::Status status = MatMul(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  const std::string page = MetricsPage();
  const std::string isa(IsaName(SelectKernels(Isa::kAvx512Vnni).isa));
  for (const std::string& expected : std::vector<std::string>{
           "# HELP quantd_matmul_ops_total",
           "# HELP quantd_matmul_outlier_columns",
           "# HELP quantd_matmul_sqnr_db",
           "# HELP quantd_matmul_mse",
           "# HELP quantd_matmul_max_abs_error",
           "quantd_matmul_outlier_columns_sum{dtype=\"INT8\"}",
           "quantd_matmul_outlier_columns_bucket{dtype=\"INT8\",le=\"0\"}",
           "quantd_matmul_sqnr_db_count{dtype=\"INT8\"}",
           "quantd_matmul_mse_count{dtype=\"INT8\"}",
           "quantd_matmul_max_abs_error_count{dtype=\"INT8\"}",
           "quantd_bytes_total{direction=\"in\",op=\"matmul\"}",
           "quantd_bytes_total{direction=\"out\",op=\"matmul\"}",
           "quantd_kernel_seconds_count{isa=\"" + isa + "\",op=\"matmul\"}",
           "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"QuantizedMatMul\"",
       }) {
    EXPECT_THAT(page, HasSubstr(expected));
  }
  // This suite's calls add up: compare against the page before the call.
  auto sample = [](const std::string& text, const std::string& series) {
    const size_t at = text.find(series + " ");
    return at == std::string::npos ? 0.0 : std::stod(text.substr(at + series.size() + 1));
  };
  const std::string ops = "quantd_matmul_ops_total{dtype=\"INT8\"}";
  EXPECT_EQ(sample(page, ops) - sample(before, ops), 2.0 * kM * kN * kK);
  const std::string elements = "quantd_elements_total{dtype=\"INT8\",op=\"matmul\"}";
  EXPECT_EQ(sample(page, elements) - sample(before, elements), kM * kN);
  const std::string outliers = "quantd_matmul_outlier_columns_sum{dtype=\"INT8\"}";
  EXPECT_EQ(sample(page, outliers) - sample(before, outliers), 1.0);
  const std::string errors = "quantd_matmul_sqnr_db_count{dtype=\"INT8\"}";
  EXPECT_EQ(sample(page, errors) - sample(before, errors), 1.0);
}

TEST(MatMulGateTest, AProductBeyondTheMemoryLimitIsRefusedBeforeItsHandlerRuns) {
  ServerOptions options;
  options.max_message_bytes = 4 << 20;
  options.max_server_memory_bytes = 8 << 20;
  Loopback c = StartLoopback(options);
  // 16 KiB in, a [2048, 2048] FLOAT32 product (16 MiB) out.
  v1::MatMulRequest request;
  *request.mutable_a() = Float32({2048, 1}, std::vector<float>(2048, 1.0f));
  *request.mutable_b() = Float32({1, 2048}, std::vector<float>(2048, 1.0f));
  grpc::ClientContext context;
  v1::MatMulResponse response;
  const grpc::Status refused = c.stub->QuantizedMatMul(&context, request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr(absl::StrCat("need ", HeldBytes(request))));
  const auto page = quantd::testing::HttpGet(c.server->metrics_port(), "/metrics");
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(*page, HasSubstr("quantd_rejected_requests_total{reason=\"memory_limit\"} 1"));
  // A product that fits still runs.
  *request.mutable_b() = Float32({1, 4}, std::vector<float>(4, 1.0f));
  grpc::ClientContext again;
  const grpc::Status ok = c.stub->QuantizedMatMul(&again, request, &response);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

}  // namespace
}  // namespace quantd::server
