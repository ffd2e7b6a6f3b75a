// Saturating arithmetic throughout: a claimed shape may be absurd.
#include "server/held_bytes.h"

#include <limits>
#include <optional>

namespace quantd::server {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t SaturatingMul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kMax / b ? kMax : a * b;
}

int64_t SaturatingAdd(int64_t a, int64_t b) { return a > kMax - b ? kMax : a + b; }

int64_t RequestBytes(const google::protobuf::Message& request) {
  return static_cast<int64_t>(request.ByteSizeLong());
}

// The element count of `tensor` when its data could back it: no type packs
// more than 8 elements in a byte (BINARY). nullopt when the shape is
// negative or claims more than the data holds.
std::optional<int64_t> BackedElements(const v1::Tensor& tensor) {
  int64_t count = 1;
  for (int64_t d : tensor.shape()) {
    if (d < 0) return std::nullopt;
    count = SaturatingMul(count, d);
  }
  if (count / 8 > static_cast<int64_t>(tensor.data().size())) return std::nullopt;
  return count;
}

int64_t FloatWidth(v1::DType output_dtype) {
  return output_dtype == v1::DTYPE_FLOAT16 || output_dtype == v1::DTYPE_BFLOAT16 ? 2 : 4;
}

}  // namespace

int64_t HeldBytes(const v1::QuantizeRequest& request) {
  const int64_t data = static_cast<int64_t>(request.input().data().size());
  int64_t input_width = 0;
  switch (request.input().dtype()) {
    case v1::DTYPE_FLOAT64: input_width = 8; break;
    case v1::DTYPE_FLOAT32: input_width = 4; break;
    case v1::DTYPE_FLOAT16:
    case v1::DTYPE_BFLOAT16: input_width = 2; break;
    default: return RequestBytes(request);  // Not a Quantize input: rejected as is.
  }
  // Every target stores at most 2 bytes per element (FLOAT16, BFLOAT16).
  int64_t response = data / input_width * 2;
  if (request.options().return_dequantized()) response = SaturatingAdd(response, data);
  return SaturatingAdd(RequestBytes(request), response);
}

int64_t HeldBytes(const v1::DequantizeRequest& request) {
  const std::optional<int64_t> count = BackedElements(request.input());
  const int64_t response =
      count.has_value() ? SaturatingMul(*count, FloatWidth(request.output_dtype())) : 0;
  return SaturatingAdd(RequestBytes(request), response);
}

int64_t HeldBytes(const v1::MatMulRequest& request) {
  int64_t response = 0;
  const v1::Tensor& a = request.a();
  const v1::Tensor& b = request.b();
  if (a.shape_size() == 2 && b.shape_size() == 2 && BackedElements(a) && BackedElements(b)) {
    const int64_t m = a.shape(0);
    const int64_t n = request.transpose_b() ? b.shape(0) : b.shape(1);
    response = SaturatingMul(SaturatingMul(m, n), FloatWidth(request.output_dtype()));
  }
  return SaturatingAdd(RequestBytes(request), response);
}

int64_t HeldBytes(const v1::AnalyzeRequest& request) { return RequestBytes(request); }

}  // namespace quantd::server
