// Quantize and Dequantize calls of the soak, plain, cancelled and with
// short deadlines.
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "soak_calls.h"

namespace quantd::soak {
namespace {

constexpr int64_t kLargeBytes = int64_t{1} << 20;

v1::Granularity GranularityOf(Slots slots) {
  switch (slots) {
    case Slots::kPerTensor:
      return v1::GRANULARITY_PER_TENSOR;
    case Slots::kPerRow:
      return v1::GRANULARITY_PER_CHANNEL;
    case Slots::kPerGroup:
      return v1::GRANULARITY_PER_GROUP;
  }
  return v1::GRANULARITY_UNSPECIFIED;
}

// The target fields of options or params for `layout`: per row is
// PER_CHANNEL on axis 0, per group is along the last axis (-1).
template <typename Message>
void SetTarget(Target target, const Layout& layout, Message* m) {
  m->set_dtype(DTypeOf(target));
  m->set_granularity(GranularityOf(layout.slots));
  if (layout.slots == Slots::kPerGroup) {
    m->set_axis(-1);
    m->set_group_size(static_cast<int32_t>(layout.group_size));
  }
}

std::string VerifyParams(const QuantizeCase& c, const std::vector<float>& scales,
                         const v1::QuantParams& p) {
  if (p.dtype() != DTypeOf(c.target) || p.granularity() != GranularityOf(c.layout.slots)) {
    return absl::StrCat("params: dtype ", p.dtype(), " granularity ", p.granularity(),
                        ", expected ", DTypeOf(c.target), " ", GranularityOf(c.layout.slots));
  }
  if (p.scheme() != v1::SCHEME_SYMMETRIC || p.zero_points_size() != 0) {
    return absl::StrCat("params: scheme ", p.scheme(), " with ", p.zero_points_size(),
                        " zero points, expected SYMMETRIC and none");
  }
  if (c.layout.slots == Slots::kPerGroup &&
      ((p.axis() != 1 && p.axis() != -1) || p.group_size() != c.layout.group_size)) {
    return absl::StrCat("params: axis ", p.axis(), " group_size ", p.group_size(),
                        ", expected the last axis and ", c.layout.group_size);
  }
  if (c.layout.slots == Slots::kPerRow && p.axis() != 0) {
    return absl::StrCat("params: axis ", p.axis(), ", expected 0");
  }
  if (p.scales_size() != static_cast<int>(scales.size())) {
    return absl::StrCat("params: ", p.scales_size(), " scales, expected ", scales.size());
  }
  for (int i = 0; i < p.scales_size(); ++i) {
    if (p.scales(i) != scales[i]) {
      return absl::StrCat("params.scales[", i, "] is ", p.scales(i), ", expected ", scales[i]);
    }
  }
  return "";
}

int64_t ResponseBytes(const v1::QuantizeResponse& r) {
  return static_cast<int64_t>(r.output().data().size() + r.dequantized().data().size());
}

// Sends `c` on `context` and judges it.
CallRecord SendQuantize(Caller& caller, const std::string& what, Expect expect, QuantizeCase& c,
                        grpc::ClientContext* context, v1::QuantizeResponse* response) {
  const auto start = Clock::now();
  const grpc::Status status = caller.stub->Quantize(context, c.request, response);
  const int64_t bytes = static_cast<int64_t>(c.request.input().data().size()) + ResponseBytes(*response);
  return Judge(QuantizeRpcOf(c), what, expect, status, start, bytes,
               [&] { return VerifyQuantize(c, *response); });
}

Target PickTarget(Caller& caller) {
  static constexpr Target kTargets[] = {Target::kInt8, Target::kInt4, Target::kFp8E4M3};
  return caller.Pick(std::span<const Target>(kTargets));
}

// Slots that suit the target: FP8 per tensor or per row, INT4 mostly per group.
Slots PickSlots(Caller& caller, Target target) {
  if (target == Target::kInt4) return caller.OneIn(4) ? Slots::kPerRow : Slots::kPerGroup;
  return caller.OneIn(2) ? Slots::kPerTensor : Slots::kPerRow;
}

}  // namespace

v1::DType DTypeOf(Target target) {
  switch (target) {
    case Target::kInt8:
      return v1::DTYPE_INT8;
    case Target::kInt4:
      return v1::DTYPE_INT4;
    case Target::kFp8E4M3:
      return v1::DTYPE_FLOAT8_E4M3FN;
  }
  return v1::DTYPE_UNSPECIFIED;
}

Size Affordable(Caller& caller, Size size) {
  if (size < Size::kLarge || caller.TakeLargeSlot()) return size;
  return Size::kMedium;
}

Size PickSize(Caller& caller) {
  const int64_t w = caller.Uniform(1, 100);
  if (w <= 25) return Size::kTiny;
  if (w <= 65) return Size::kSmall;
  if (w <= 90) return Size::kMedium;
  return Affordable(caller, w <= 97 ? Size::kLarge : Size::kHuge);
}

Layout PickLayout(Caller& caller, Size size, Slots slots) {
  Layout layout;
  switch (size) {
    case Size::kTiny:
      layout.rows = caller.Uniform(1, 4);
      layout.cols = caller.Uniform(1, 4);
      break;
    case Size::kSmall:
      layout.rows = caller.Uniform(1, 16);
      layout.cols = caller.Uniform(1, 256);
      break;
    case Size::kMedium:
      layout.rows = caller.Uniform(4, 64);
      layout.cols = caller.Uniform(1024, 4096);
      break;
    case Size::kLarge:
      layout.rows = caller.Uniform(65, 256);
      layout.cols = 4096;
      break;
    case Size::kHuge:
      layout.rows = 1024;
      layout.cols = 4096;
      break;
  }
  layout.slots = slots;
  static constexpr int64_t kGroups[] = {32, 64, 128};
  if (slots == Slots::kPerGroup) layout.group_size = caller.Pick(std::span<const int64_t>(kGroups));
  return layout;
}

Rpc QuantizeRpcOf(const QuantizeCase& c) {
  return c.layout.count() * 4 > kLargeBytes ? Rpc::kQuantizeLarge : Rpc::kQuantize;
}

QuantizeCase MakeQuantizeCase(Caller& caller, Target target, Layout layout, bool explicit_scales) {
  QuantizeCase c;
  c.layout = layout;
  c.target = target;
  c.x = caller.values->Draw(caller.rng, layout.count());
  const int64_t shape[] = {layout.rows, layout.cols};
  SetFloatTensor(c.x, shape, c.request.mutable_input());
  v1::QuantizeOptions* options = c.request.mutable_options();
  if (explicit_scales) {
    static constexpr float kFactors[] = {0.5f, 0.8f, 1.0f, 1.25f};
    c.given_scales = Quantize(c.x, layout, target).scales;
    for (float& s : c.given_scales) s *= caller.Pick(std::span<const float>(kFactors));
    v1::QuantParams* params = options->mutable_params();
    SetTarget(target, layout, params);
    params->set_scheme(v1::SCHEME_SYMMETRIC);
    params->mutable_scales()->Assign(c.given_scales.begin(), c.given_scales.end());
  } else {
    SetTarget(target, layout, options);
  }
  options->set_return_dequantized(layout.count() <= (int64_t{1} << 18) && caller.OneIn(4));
  return c;
}

std::string VerifyQuantize(const QuantizeCase& c, const v1::QuantizeResponse& response) {
  const ReferenceQuantization ref = Quantize(c.x, c.layout, c.target, c.given_scales);
  const v1::Tensor& out = response.output();
  if (out.dtype() != DTypeOf(c.target) || out.shape_size() != 2 || out.shape(0) != c.layout.rows ||
      out.shape(1) != c.layout.cols) {
    return absl::StrCat("output: dtype ", out.dtype(), " with ", out.shape_size(),
                        " dimensions, expected ", DTypeOf(c.target), " [", c.layout.rows, ", ",
                        c.layout.cols, "]");
  }
  if (std::string d = VerifyParams(c, ref.scales, response.params()); !d.empty()) return d;
  if (std::string d = CompareCodes(out.data(), ref.codes); !d.empty()) return d;
  const v1::ErrorStats& e = response.error();
  const int64_t n = c.layout.count();
  if (e.count() != n || e.clipped_count() != ref.clipped) {
    return absl::StrCat("error: count ", e.count(), " clipped ", e.clipped_count(), ", expected ", n,
                        " and ", ref.clipped);
  }
  // The server may add in another order (and in SIMD lanes): sums agree to
  // rounding, the maximum exactly up to how x - x' is rounded.
  if (std::string d = CompareNear("error.max_abs_error", e.max_abs_error(), ref.max_abs_error, 1e-6);
      !d.empty()) {
    return d;
  }
  if (std::string d = CompareNear("error.mse", e.mse(), ref.sum_sq_error / n, 1e-6, 1e-300);
      !d.empty()) {
    return d;
  }
  if (c.request.options().return_dequantized()) {
    const v1::Tensor& deq = response.dequantized();
    if (deq.dtype() != v1::DTYPE_FLOAT32) return absl::StrCat("dequantized: dtype ", deq.dtype());
    const std::vector<float> expected = Dequantize(ref.codes, c.layout, c.target, ref.scales);
    if (std::string d = CompareFloats(FloatsOf(deq.data()), expected); !d.empty()) {
      return absl::StrCat("dequantized ", d);
    }
  } else if (response.has_dequantized()) {
    return "dequantized: sent without return_dequantized";
  }
  return "";
}

CallRecord QuantizeCall(Caller& caller, Target target, Slots slots) {
  QuantizeCase c = MakeQuantizeCase(caller, target, PickLayout(caller, PickSize(caller), slots));
  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::QuantizeResponse response;
  const std::string what = absl::StrCat("quantize_", target == Target::kInt8   ? "int8"
                                                     : target == Target::kInt4 ? "int4"
                                                                               : "fp8",
                                        slots == Slots::kPerTensor ? "_tensor"
                                        : slots == Slots::kPerRow  ? "_channel"
                                                                   : "_group");
  CallRecord record = SendQuantize(caller, what, Expect::kAnswer, c, &context, &response);
  if (record.outcome == Outcome::kVerified) {
    caller.last = QuantizedTensor{c.layout, c.target, std::move(*response.mutable_output()),
                                  std::move(*response.mutable_params())};
  }
  return record;
}

CallRecord QuantizeExplicitCall(Caller& caller) {
  const Slots slots = caller.OneIn(2) ? Slots::kPerTensor : Slots::kPerRow;
  QuantizeCase c =
      MakeQuantizeCase(caller, Target::kInt8, PickLayout(caller, PickSize(caller), slots), true);
  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::QuantizeResponse response;
  return SendQuantize(caller, "quantize_int8_explicit", Expect::kAnswer, c, &context, &response);
}

CallRecord DequantizeCall(Caller& caller) {
  if (!caller.last) {
    return QuantizeCall(caller, PickTarget(caller), Slots::kPerRow);
  }
  const QuantizedTensor& q = *caller.last;
  v1::DequantizeRequest request;
  *request.mutable_input() = q.codes;
  *request.mutable_params() = q.params;
  if (caller.OneIn(2)) request.set_output_dtype(v1::DTYPE_FLOAT32);
  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::DequantizeResponse response;
  const auto start = Clock::now();
  const grpc::Status status = caller.stub->Dequantize(&context, request, &response);
  const int64_t bytes =
      static_cast<int64_t>(request.input().data().size() + response.output().data().size());
  CallRecord record = Judge(Rpc::kDequantize, "dequantize", Expect::kAnswer, status, start, bytes, [&] {
    const v1::Tensor& out = response.output();
    if (out.dtype() != v1::DTYPE_FLOAT32 || out.shape_size() != 2 || out.shape(0) != q.layout.rows ||
        out.shape(1) != q.layout.cols) {
      return absl::StrCat("output: dtype ", out.dtype(), " with ", out.shape_size(),
                          " dimensions, expected FLOAT32 [", q.layout.rows, ", ", q.layout.cols, "]");
    }
    const std::vector<float> scales(q.params.scales().begin(), q.params.scales().end());
    return CompareFloats(FloatsOf(out.data()), Dequantize(q.codes.data(), q.layout, q.target, scales));
  });
  caller.last.reset();  // Each answer is dequantized once.
  return record;
}

CallRecord CancelledQuantizeCall(Caller& caller) {
  const Target target = PickTarget(caller);
  const int64_t w = caller.Uniform(1, 10);
  const Size size = Affordable(caller, w <= 6 ? Size::kMedium : w <= 9 ? Size::kLarge : Size::kHuge);
  QuantizeCase c = MakeQuantizeCase(caller, target, PickLayout(caller, size, PickSlots(caller, target)));
  grpc::ClientContext context;
  caller.Prepare(&context);
  const auto delay = std::chrono::microseconds(caller.Uniform(0, 5000));
  // The canceller is joined before the context goes.
  std::thread canceller([&context, delay] {
    std::this_thread::sleep_for(delay);
    context.TryCancel();
  });
  v1::QuantizeResponse response;
  CallRecord record = SendQuantize(caller, "quantize_cancelled", Expect::kAnswerOrAbort, c, &context,
                                   &response);
  canceller.join();
  return record;
}

CallRecord ShortDeadlineQuantizeCall(Caller& caller) {
  const Target target = PickTarget(caller);
  const Size size =
      caller.OneIn(2) ? Size::kSmall : Affordable(caller, caller.OneIn(4) ? Size::kLarge : Size::kMedium);
  QuantizeCase c = MakeQuantizeCase(caller, target, PickLayout(caller, size, PickSlots(caller, target)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::microseconds(caller.Uniform(200, 5000)));
  v1::QuantizeResponse response;
  return SendQuantize(caller, "quantize_short_deadline", Expect::kAnswerOrAbort, c, &context,
                      &response);
}

}  // namespace quantd::soak
