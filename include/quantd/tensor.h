// Non-owning views of tensors in memory, and the checks that make a view
// safe to hand to a kernel.
#ifndef QUANTD_TENSOR_H_
#define QUANTD_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "quantd/dtype.h"

namespace quantd {

// Limits on what a shape may claim. They are checked before anything is
// sized from the shape, so a request cannot make the library allocate for
// a size it merely claims.
inline constexpr int kMaxRank = 32;
inline constexpr int64_t kMaxElements = int64_t{1} << 40;

// A C-contiguous, little-endian tensor owned by someone else. `data` may
// have any alignment.
struct TensorView {
  DType dtype = DType::kUnspecified;
  std::span<const int64_t> shape;
  std::span<const std::byte> data;
};

// The product of `shape`, checked: no negative dimension, rank at most
// kMaxRank, no overflow, at most kMaxElements. `field` names the shape in
// error messages (e.g. "input.shape").
absl::StatusOr<int64_t> ElementCount(std::span<const int64_t> shape,
                                     absl::string_view field);

// ceil(count * DTypeBits(dtype) / 8).
int64_t PackedByteSize(DType dtype, int64_t count);

// Checks that the dtype is specified, the shape is valid and the byte count
// equals what the shape and dtype promise. Returns the element count. Which
// dtypes fit is the caller's check.
absl::StatusOr<int64_t> ValidateTensorLayout(const TensorView& tensor,
                                             absl::string_view field);

}  // namespace quantd

#endif  // QUANTD_TENSOR_H_
