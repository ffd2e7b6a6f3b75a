// The streaming calls of the soak: Calibrate (client stream) and
// QuantizeStream (both ways), whole or cancelled part way.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <thread>

#include "absl/strings/str_cat.h"
#include "soak_calls.h"

namespace quantd::soak {
namespace {

// API.md's parameters of a per-tensor range [lo, hi]: widened to include
// 0; INT8 symmetric, UINT8 asymmetric over [0, 255].
void ExpectedParams(float lo, float hi, bool asymmetric, float* scale, int32_t* zero_point) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  *zero_point = 0;
  if (!asymmetric) {
    *scale = SymmetricScale(std::max(-lo, hi), 127.0f);
    return;
  }
  if (lo == 0 && hi == 0) {
    *scale = 1.0f;
    return;
  }
  *scale = std::max((hi - lo) / 255.0f, FLT_MIN);
  *zero_point = static_cast<int32_t>(std::clamp(0.0f - std::nearbyint(lo / *scale), 0.0f, 255.0f));
}

}  // namespace

CallRecord CalibrateCall(Caller& caller, bool cancel) {
  const bool asymmetric = caller.OneIn(2);
  const int64_t batches = caller.Uniform(2, 5);
  const int64_t cols = caller.Uniform(1, 512);
  v1::CalibrateOptions options;
  options.set_method(v1::RANGE_METHOD_MINMAX);
  options.set_dtype(asymmetric ? v1::DTYPE_UINT8 : v1::DTYPE_INT8);
  options.set_scheme(asymmetric ? v1::SCHEME_ASYMMETRIC : v1::SCHEME_SYMMETRIC);

  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::CalibrateResponse response;
  const auto start = Clock::now();
  std::unique_ptr<grpc::ClientWriter<v1::CalibrateRequest>> writer =
      caller.stub->Calibrate(&context, &response);
  v1::CalibrateRequest request;
  *request.mutable_options() = options;
  // The options go alone or with the first batch; both are allowed.
  bool open = true;
  if (caller.OneIn(2)) {
    open = writer->Write(request);
    request.Clear();
  }
  float lo = INFINITY, hi = -INFINITY;
  int64_t values = 0, bytes = 0;
  for (int64_t b = 0; b < batches && open; ++b) {
    const int64_t rows = caller.Uniform(1, 64);
    const std::vector<float> x = caller.values->Draw(caller.rng, rows * cols);
    float batch_lo, batch_hi;
    MinMax(x, &batch_lo, &batch_hi);
    lo = std::min(lo, batch_lo);
    hi = std::max(hi, batch_hi);
    values += rows * cols;
    const int64_t shape[] = {rows, cols};
    SetFloatTensor(x, shape, request.mutable_batch());
    bytes += static_cast<int64_t>(x.size() * 4);
    open = writer->Write(request);
    request.Clear();
    if (cancel) {
      context.TryCancel();
      break;
    }
  }
  if (open && !cancel) writer->WritesDone();
  const grpc::Status status = writer->Finish();
  return Judge(Rpc::kCalibrate, cancel ? "calibrate_cancelled" : "calibrate",
               cancel ? Expect::kAnswerOrAbort : Expect::kAnswer, status, start, bytes,
               [&]() -> std::string {
    const v1::CalibrationStats& s = response.stats();
    if (s.values_seen() != values || s.batches_seen() != batches) {
      return absl::StrCat("stats: ", s.values_seen(), " values in ", s.batches_seen(),
                          " batches, expected ", values, " in ", batches);
    }
    if (s.observed_min_size() != 1 || s.observed_max_size() != 1 || s.observed_min(0) != lo ||
        s.observed_max(0) != hi) {
      return absl::StrCat("stats: observed range [", s.observed_min_size() ? s.observed_min(0) : NAN,
                          ", ", s.observed_max_size() ? s.observed_max(0) : NAN, "], expected [", lo,
                          ", ", hi, "]");
    }
    float scale;
    int32_t zero_point;
    ExpectedParams(lo, hi, asymmetric, &scale, &zero_point);
    const v1::QuantParams& p = response.params();
    if (p.dtype() != options.dtype() || p.scales_size() != 1 || p.scales(0) != scale ||
        p.zero_points_size() != (asymmetric ? 1 : 0) ||
        (asymmetric && p.zero_points(0) != zero_point)) {
      return absl::StrCat("params: dtype ", p.dtype(), " scale ", p.scales_size() ? p.scales(0) : NAN,
                          " zero point ", p.zero_points_size() ? p.zero_points(0) : -1, ", expected ",
                          options.dtype(), " ", scale, " ", zero_point, " for the range [", lo, ", ",
                          hi, "]");
    }
    return "";
  });
}

CallRecord QuantizeStreamCall(Caller& caller, bool cancel) {
  // 256 KiB to 4 MiB of float32 (above 1 MiB with a large slot); explicit
  // scales stream in a bounded window, derived ones buffer the tensor first.
  const int64_t max_rows = caller.OneIn(2) && caller.TakeLargeSlot() ? 1024 : 256;
  const Layout layout{caller.Uniform(64, max_rows), 1024, Slots::kPerTensor};
  QuantizeCase c = MakeQuantizeCase(caller, Target::kInt8, layout, caller.OneIn(2));
  c.request.mutable_options()->set_return_dequantized(false);
  v1::QuantizeStreamRequest header;
  header.mutable_header()->set_dtype(v1::DTYPE_FLOAT32);
  header.mutable_header()->mutable_shape()->CopyFrom(c.request.input().shape());
  *header.mutable_header()->mutable_options() = c.request.options();
  const std::string& data = c.request.input().data();
  const int64_t chunks = caller.Uniform(cancel ? 3 : 2, 6);
  // Chunks need not hold whole elements.
  const size_t chunk = (data.size() + chunks - 1) / chunks + caller.Uniform(0, 3);

  grpc::ClientContext context;
  caller.Prepare(&context);
  const auto start = Clock::now();
  auto stream = caller.stub->QuantizeStream(&context);
  // Written from another thread while this one reads: a windowed answer
  // comes back while the input still goes out.
  std::thread writer([&] {
    if (!stream->Write(header)) return;
    v1::QuantizeStreamRequest request;
    for (size_t at = 0; at < data.size(); at += chunk) {
      request.set_data(data.substr(at, chunk));
      if (!stream->Write(request)) return;
      if (cancel) {
        context.TryCancel();
        return;
      }
    }
    stream->WritesDone();
  });
  v1::QuantizeResponse answer;  // The stream's parts, judged as a unary answer.
  std::string protocol;         // What the answer's order broke, if anything.
  v1::QuantizeStreamResponse response;
  int64_t received = 0;
  while (stream->Read(&response)) {
    const bool have_params = answer.has_params(), have_error = answer.has_error();
    if (have_error && protocol.empty()) protocol = "a message after the error statistics";
    switch (response.msg_case()) {
      case v1::QuantizeStreamResponse::kParams:
        if (have_params && protocol.empty()) protocol = "params twice";
        answer.mutable_params()->Swap(response.mutable_params());
        break;
      case v1::QuantizeStreamResponse::kData:
        if (!have_params && protocol.empty()) protocol = "data before params";
        received += static_cast<int64_t>(response.data().size());
        answer.mutable_output()->mutable_data()->append(response.data());
        break;
      case v1::QuantizeStreamResponse::kError:
        answer.mutable_error()->Swap(response.mutable_error());
        break;
      default:
        if (protocol.empty()) protocol = "an empty message";
    }
  }
  writer.join();
  const grpc::Status status = stream->Finish();
  answer.mutable_output()->set_dtype(answer.params().dtype());
  answer.mutable_output()->mutable_shape()->CopyFrom(c.request.input().shape());
  return Judge(Rpc::kQuantizeStream, cancel ? "quantize_stream_cancelled" : "quantize_stream",
               cancel ? Expect::kAnswerOrAbort : Expect::kAnswer, status, start,
               static_cast<int64_t>(data.size()) + received, [&]() -> std::string {
    if (!protocol.empty()) return absl::StrCat("the answer sent ", protocol);
    if (!answer.has_params() || !answer.has_error()) return "the answer lacks params or error";
    return VerifyQuantize(c, answer);
  });
}

}  // namespace quantd::soak
