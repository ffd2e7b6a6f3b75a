// QuantizedMatMul calls of the soak, checked against a float64 product of
// the operands as the server quantizes them (README: A per row, float B per
// output channel, both INT8 absmax half to even; integer sums exact, scaled
// in float64, rounded once).
#include <cmath>

#include "absl/strings/str_cat.h"
#include "soak_calls.h"

namespace quantd::soak {
namespace {

enum class Weights { kFloat, kInt8PerChannel, kInt4PerGroup };

// An operand as the exact float64 values of level x scale, [rows][cols]
// flattened; the dequantized float32 values would round each product.
std::vector<double> ExactValues(const std::string& codes, const Layout& layout, Target target,
                                const std::vector<float>& scales) {
  std::vector<double> v(layout.count());
  for (int64_t r = 0; r < layout.rows; ++r) {
    for (int64_t c = 0; c < layout.cols; ++c) {
      const int64_t i = r * layout.cols + c;
      const int level = target == Target::kInt4 ? Int4At(codes, i) : static_cast<int8_t>(codes[i]);
      v[i] = static_cast<double>(level) * scales[layout.SlotOf(r, c)];
    }
  }
  return v;
}

// Exact binary fractions: 2^-e x (1 + j/8).
float RandomScale(Caller& caller) {
  return std::ldexp(1.0f + static_cast<float>(caller.Uniform(0, 7)) / 8.0f,
                    -static_cast<int>(caller.Uniform(4, 10)));
}

// Random codes of `layout` within the restricted symmetric range.
std::string RandomCodes(Caller& caller, const Layout& layout, Target target) {
  const int64_t n = layout.count();
  const int qmax = static_cast<int>(TargetLimit(target));
  std::string codes(target == Target::kInt4 ? (n + 1) / 2 : n, '\0');
  for (int64_t i = 0; i < n; ++i) {
    const int q = static_cast<int>(caller.Uniform(-qmax, qmax));
    if (target == Target::kInt8) {
      codes[i] = static_cast<char>(static_cast<int8_t>(q));
    } else {
      codes[i / 2] = static_cast<char>(static_cast<uint8_t>(codes[i / 2]) |
                                       ((q & 0xF) << (i % 2 == 0 ? 0 : 4)));
    }
  }
  return codes;
}

}  // namespace

CallRecord MatMulCall(Caller& caller) {
  // Up to 4 rows takes the direct (decode) path for integer weights given
  // [N, K]; more rows pack the weights into panels.
  const int64_t m = caller.OneIn(2) ? caller.Uniform(1, 4) : caller.Uniform(5, 48);
  const int64_t k = caller.Uniform(1, 320);
  const int64_t n = caller.Uniform(1, 96);
  const Weights weights = static_cast<Weights>(caller.Uniform(0, 2));

  v1::MatMulRequest request;
  const std::vector<float> a = caller.values->Draw(caller.rng, m * k);
  const int64_t a_shape[] = {m, k};
  SetFloatTensor(a, a_shape, request.mutable_a());
  const Layout a_layout{m, k, Slots::kPerRow};
  const ReferenceQuantization qa = Quantize(a, a_layout, Target::kInt8);
  const std::vector<double> a_exact = ExactValues(qa.codes, a_layout, Target::kInt8, qa.scales);

  // The weights as [n][k] exact values, whatever layout they are sent in.
  Layout w_layout{n, k, Slots::kPerRow};
  std::vector<double> w_exact;
  if (weights == Weights::kFloat) {
    const std::vector<float> b = caller.values->Draw(caller.rng, k * n);  // [k][n]
    std::vector<float> w(n * k);
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int64_t j = 0; j < n; ++j) w[j * k + kk] = b[kk * n + j];
    }
    const bool transpose = caller.OneIn(2);
    request.set_transpose_b(transpose);
    const int64_t b_shape[] = {transpose ? n : k, transpose ? k : n};
    SetFloatTensor(transpose ? w : b, b_shape, request.mutable_b());
    const ReferenceQuantization qw = Quantize(w, w_layout, Target::kInt8);
    w_exact = ExactValues(qw.codes, w_layout, Target::kInt8, qw.scales);
  } else {
    // Codes as Quantize writes them for Linear.weight [N, K]: INT8 per
    // output channel, or INT4 in groups along K (a short last one too).
    const Target target = weights == Weights::kInt8PerChannel ? Target::kInt8 : Target::kInt4;
    if (target == Target::kInt4) {
      static constexpr int64_t kGroups[] = {32, 64, 128};
      w_layout.slots = Slots::kPerGroup;
      w_layout.group_size = caller.Pick(std::span<const int64_t>(kGroups));
    }
    std::vector<float> scales(w_layout.slot_count());
    for (float& s : scales) s = RandomScale(caller);
    const std::string codes = RandomCodes(caller, w_layout, target);
    request.set_transpose_b(true);
    v1::Tensor* b = request.mutable_b();
    b->set_dtype(DTypeOf(target));
    b->add_shape(n);
    b->add_shape(k);
    b->set_data(codes);
    v1::QuantParams* p = request.mutable_b_params();
    p->set_dtype(DTypeOf(target));
    p->set_scheme(v1::SCHEME_SYMMETRIC);
    p->set_granularity(target == Target::kInt8 ? v1::GRANULARITY_PER_CHANNEL : v1::GRANULARITY_PER_GROUP);
    p->set_axis(target == Target::kInt8 ? 0 : 1);
    p->set_group_size(static_cast<int32_t>(w_layout.group_size));
    p->mutable_scales()->Assign(scales.begin(), scales.end());
    w_exact = ExactValues(codes, w_layout, target, scales);
  }
  std::vector<float> bias;
  if (caller.OneIn(3)) {
    bias = caller.values->Draw(caller.rng, n);
    const int64_t bias_shape[] = {n};
    SetFloatTensor(bias, bias_shape, request.mutable_bias());
  }
  request.set_compute_reference_error(caller.OneIn(4));

  grpc::ClientContext context;
  caller.Prepare(&context);
  v1::MatMulResponse response;
  const auto start = Clock::now();
  const grpc::Status status = caller.stub->QuantizedMatMul(&context, request, &response);
  const int64_t bytes = static_cast<int64_t>(request.a().data().size() + request.b().data().size() +
                                             response.output().data().size());
  static constexpr const char* kNames[] = {"matmul_float", "matmul_int8", "matmul_int4"};
  return Judge(Rpc::kMatMul, kNames[static_cast<int>(weights)], Expect::kAnswer, status, start, bytes,
               [&]() -> std::string {
    const v1::Tensor& out = response.output();
    if (out.dtype() != v1::DTYPE_FLOAT32 || out.shape_size() != 2 || out.shape(0) != m ||
        out.shape(1) != n || static_cast<int64_t>(out.data().size()) != m * n * 4) {
      return absl::StrCat("output: dtype ", out.dtype(), " with ", out.data().size(),
                          " bytes, expected FLOAT32 [", m, ", ", n, "]");
    }
    const std::vector<float> y = FloatsOf(out.data());
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double sum = bias.empty() ? 0.0 : bias[j];
        double magnitude = std::fabs(sum);
        for (int64_t kk = 0; kk < k; ++kk) {
          const double t = a_exact[i * k + kk] * w_exact[j * k + kk];
          sum += t;
          magnitude += std::fabs(t);
        }
        // One rounding to float32 (2^-24 relative; twice that allows for
        // float64 sums in another order) plus float64 rounding of the terms.
        if (std::string d = CompareNear("output", y[i * n + j], sum, 0x1p-23, 1e-12 * magnitude);
            !d.empty()) {
          return absl::StrCat(d, " at [", i, ", ", j, "] of [", m, ", ", k, "] x [", k, ", ", n, "]");
        }
      }
    }
    if (request.compute_reference_error() && response.stats().error().count() != m * n) {
      return absl::StrCat("stats.error.count is ", response.stats().error().count(), ", expected ",
                          m * n);
    }
    if (response.stats().outlier_columns() != 0) {
      return absl::StrCat("stats.outlier_columns is ", response.stats().outlier_columns(),
                          " without a threshold");
    }
    return "";
  });
}

}  // namespace quantd::soak
