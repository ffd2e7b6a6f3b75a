// Helpers that build tensor views over test-owned vectors.
#ifndef QUANTD_TESTS_UNIT_TEST_TENSORS_H_
#define QUANTD_TESTS_UNIT_TEST_TENSORS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "quantd/tensor.h"

namespace quantd::testing {

// Owns a shape and bytes; view() lends them out.
struct OwnedTensor {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  std::vector<std::byte> bytes;

  TensorView view() const { return TensorView{dtype, shape, bytes}; }
};

template <typename T>
OwnedTensor MakeTensor(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  OwnedTensor t{dtype, std::move(shape), std::vector<std::byte>(values.size() * sizeof(T))};
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

inline OwnedTensor Float32Tensor(std::vector<int64_t> shape, const std::vector<float>& values) {
  return MakeTensor(DType::kFloat32, std::move(shape), values);
}

template <typename T>
std::vector<T> As(std::span<const std::byte> bytes) {
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

}  // namespace quantd::testing

#endif  // QUANTD_TESTS_UNIT_TEST_TENSORS_H_
