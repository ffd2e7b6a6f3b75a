// Malformed requests: each must be refused with INVALID_ARGUMENT and a
// message naming what is wrong (API.md, Errors), and must leave the server
// as it was.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "soak_calls.h"

namespace quantd::soak {
namespace {

CallRecord SendMalformedQuantize(Caller& caller, const std::string& what,
                                 const v1::QuantizeRequest& request, const std::string& message_part) {
  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::QuantizeResponse response;
  const auto start = Clock::now();
  const grpc::Status status = caller.stub->Quantize(&context, request, &response);
  return Judge(Rpc::kQuantize, what, Expect::kInvalid, status, start,
               static_cast<int64_t>(request.input().data().size()), nullptr, message_part);
}

// A valid INT8 Quantize of a small tensor, to be broken.
QuantizeCase SmallCase(Caller& caller, Slots slots = Slots::kPerTensor) {
  return MakeQuantizeCase(caller, Target::kInt8,
                          PickLayout(caller, caller.OneIn(2) ? Size::kTiny : Size::kSmall, slots));
}

void SetExplicitScales(const std::vector<float>& scales, Slots slots, v1::QuantizeOptions* options) {
  v1::QuantParams* p = options->mutable_params();
  p->set_dtype(v1::DTYPE_INT8);
  p->set_scheme(v1::SCHEME_SYMMETRIC);
  p->set_granularity(slots == Slots::kPerRow ? v1::GRANULARITY_PER_CHANNEL : v1::GRANULARITY_PER_TENSOR);
  p->mutable_scales()->Assign(scales.begin(), scales.end());
}

CallRecord ShortData(Caller& caller) {
  QuantizeCase c = SmallCase(caller);
  c.request.mutable_input()->mutable_data()->pop_back();
  return SendMalformedQuantize(caller, "malformed_short_data", c.request,
                               absl::StrCat("input.data has ", c.request.input().data().size(), " bytes"));
}

CallRecord NaNWithParams(Caller& caller) {
  QuantizeCase c = SmallCase(caller);
  std::vector<float> x = c.x;
  const int64_t at = caller.Uniform(0, static_cast<int64_t>(x.size()) - 1);
  x[at] = NAN;
  c.request.mutable_input()->set_data(FloatBytes(x));
  SetExplicitScales({0.05f}, Slots::kPerTensor, c.request.mutable_options());
  return SendMalformedQuantize(caller, "malformed_nan", c.request, absl::StrCat("input.data[", at, "] = nan"));
}

CallRecord BadGroupSize(Caller& caller) {
  QuantizeCase c = SmallCase(caller);
  v1::QuantizeOptions* o = c.request.mutable_options();
  o->set_granularity(v1::GRANULARITY_PER_GROUP);
  o->set_axis(-1);
  o->set_group_size(static_cast<int32_t>(caller.Uniform(-8, 0)));
  return SendMalformedQuantize(caller, "malformed_group_size", c.request,
                               absl::StrCat("options.group_size = ", o->group_size()));
}

CallRecord UnknownDType(Caller& caller) {
  QuantizeCase c = SmallCase(caller);
  const int64_t dtype = caller.Uniform(20, 1000);
  c.request.mutable_options()->set_dtype(static_cast<v1::DType>(dtype));
  return SendMalformedQuantize(caller, "malformed_unknown_dtype", c.request,
                               absl::StrCat("options.dtype = ", dtype));
}

CallRecord NegativeDimension(Caller& caller) {
  QuantizeCase c = SmallCase(caller);
  c.request.mutable_input()->set_shape(0, -c.request.input().shape(0));
  return SendMalformedQuantize(caller, "malformed_negative_dimension", c.request,
                               absl::StrCat("input.shape[0] = ", c.request.input().shape(0)));
}

CallRecord BadScale(Caller& caller) {
  QuantizeCase c = SmallCase(caller);
  static constexpr float kScales[] = {0.0f, -0.5f, NAN, INFINITY};
  SetExplicitScales({caller.Pick(std::span<const float>(kScales))}, Slots::kPerTensor,
                    c.request.mutable_options());
  return SendMalformedQuantize(caller, "malformed_scale", c.request, "options.params.scales[0]");
}

CallRecord WrongScaleCount(Caller& caller) {
  QuantizeCase c = SmallCase(caller, Slots::kPerRow);
  std::vector<float> scales(c.layout.rows + caller.Uniform(1, 3), 0.25f);
  SetExplicitScales(scales, Slots::kPerRow, c.request.mutable_options());
  return SendMalformedQuantize(caller, "malformed_scale_count", c.request,
                               absl::StrCat("options.params.scales has ", scales.size(), " values"));
}

CallRecord DequantizeDTypeMismatch(Caller& caller) {
  v1::DequantizeRequest request;
  const int64_t n = caller.Uniform(1, 4096);
  request.mutable_input()->set_dtype(v1::DTYPE_INT8);
  request.mutable_input()->add_shape(n);
  request.mutable_input()->set_data(std::string(n, '\x01'));
  request.mutable_params()->set_dtype(v1::DTYPE_INT4);
  request.mutable_params()->add_scales(0.5f);
  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::DequantizeResponse response;
  const auto start = Clock::now();
  const grpc::Status status = caller.stub->Dequantize(&context, request, &response);
  return Judge(Rpc::kDequantize, "malformed_dequantize_dtype", Expect::kInvalid, status, start, n,
               nullptr, "params.dtype INT4");
}

CallRecord MatMulShapeMismatch(Caller& caller) {
  const int64_t m = caller.Uniform(1, 8), k = caller.Uniform(1, 64), n = caller.Uniform(1, 64);
  const int64_t other_k = k + caller.Uniform(1, 4);
  v1::MatMulRequest request;
  const int64_t a_shape[] = {m, k};
  const int64_t b_shape[] = {other_k, n};
  SetFloatTensor(caller.values->Draw(caller.rng, m * k), a_shape, request.mutable_a());
  SetFloatTensor(caller.values->Draw(caller.rng, other_k * n), b_shape, request.mutable_b());
  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::MatMulResponse response;
  const auto start = Clock::now();
  const grpc::Status status = caller.stub->QuantizedMatMul(&context, request, &response);
  return Judge(Rpc::kMatMul, "malformed_matmul_shapes", Expect::kInvalid, status, start,
               (m * k + other_k * n) * 4, nullptr, absl::StrCat("b.shape[0] = ", other_k));
}

CallRecord StreamExtraBytes(Caller& caller) {
  const int64_t n = caller.Uniform(1, 4096);
  v1::QuantizeStreamRequest header;
  header.mutable_header()->set_dtype(v1::DTYPE_FLOAT32);
  header.mutable_header()->add_shape(n);
  header.mutable_header()->mutable_options()->set_dtype(v1::DTYPE_INT8);
  v1::QuantizeStreamRequest data;
  data.set_data(FloatBytes(caller.values->Draw(caller.rng, n + 1)));
  grpc::ClientContext context;
  caller.Prepare(&context);
  const auto start = Clock::now();
  auto stream = caller.stub->QuantizeStream(&context);
  // The answer is at most a status: nothing is read until both writes are
  // done, and the server may refuse before the second.
  if (stream->Write(header) && stream->Write(data)) stream->WritesDone();
  v1::QuantizeStreamResponse response;
  while (stream->Read(&response)) {
  }
  const grpc::Status status = stream->Finish();
  return Judge(Rpc::kQuantizeStream, "malformed_stream_extra_bytes", Expect::kInvalid, status, start,
               (n + 1) * 4, nullptr, "more than");
}

CallRecord CalibrateOptionsTwice(Caller& caller) {
  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::CalibrateResponse response;
  const auto start = Clock::now();
  auto writer = caller.stub->Calibrate(&context, &response);
  v1::CalibrateRequest request;
  request.mutable_options()->set_method(v1::RANGE_METHOD_MINMAX);
  request.mutable_options()->set_dtype(v1::DTYPE_INT8);
  const int64_t shape[] = {caller.Uniform(1, 64)};
  SetFloatTensor(caller.values->Draw(caller.rng, shape[0]), shape, request.mutable_batch());
  // The second message repeats the options; the server may end the call
  // before it is written.
  if (writer->Write(request) && writer->Write(request)) writer->WritesDone();
  const grpc::Status status = writer->Finish();
  return Judge(Rpc::kCalibrate, "malformed_calibrate_options", Expect::kInvalid, status, start,
               shape[0] * 8, nullptr, "carries options");
}

}  // namespace

CallRecord MalformedCall(Caller& caller) {
  static constexpr CallRecord (*kCalls[])(Caller&) = {
      ShortData,    NaNWithParams,   BadGroupSize,        UnknownDType,
      NegativeDimension, BadScale,   WrongScaleCount,     DequantizeDTypeMismatch,
      MatMulShapeMismatch, StreamExtraBytes, CalibrateOptionsTwice};
  return kCalls[caller.Uniform(0, std::size(kCalls) - 1)](caller);
}

}  // namespace quantd::soak
