// Shape arithmetic and layout checks for tensor views.
#include "quantd/tensor.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/enum_check.h"

namespace quantd {

absl::StatusOr<int64_t> ElementCount(std::span<const int64_t> shape,
                                     absl::string_view field) {
  if (shape.size() > static_cast<size_t>(kMaxRank)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " has rank ", shape.size(), ", above the limit of ", kMaxRank));
  }
  // Zero dimensions make the count 0, but the other dimensions must still be
  // sane: the product of the non-zero ones is checked like any other.
  int64_t nonzero_product = 1;
  bool has_zero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t d = shape[i];
    if (d < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", i, "] = ", d, " is negative (shape [",
          absl::StrJoin(shape, ", "), "])"));
    }
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (nonzero_product > kMaxElements / d) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " [", absl::StrJoin(shape, ", "),
          "] has more elements than the limit of ", kMaxElements));
    }
    nonzero_product *= d;
  }
  return has_zero ? 0 : nonzero_product;
}

int64_t PackedByteSize(DType dtype, int64_t count) {
  // count <= 2^40 and bits <= 64, so the product cannot overflow.
  return (count * DTypeBits(dtype) + 7) / 8;
}

absl::Status CheckEnumNumber(int32_t number, int32_t max_number,
                             absl::string_view field, absl::string_view enum_name) {
  if (number < 0 || number > max_number) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " = ", number, " is not a known ", enum_name, " value (0 to ",
        max_number, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ValidateTensorLayout(const TensorView& tensor,
                                             absl::string_view field) {
  if (absl::Status s = CheckEnumNumber(static_cast<int32_t>(tensor.dtype), kMaxDTypeNumber,
                                       absl::StrCat(field, ".dtype"), "DType");
      !s.ok()) {
    return s;
  }
  if (tensor.dtype == DType::kUnspecified) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".dtype is DTYPE_UNSPECIFIED; a tensor needs a dtype"));
  }
  if (DTypeBits(tensor.dtype) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".dtype ", DTypeName(tensor.dtype), " is not a storage type"));
  }
  auto count = ElementCount(tensor.shape, absl::StrCat(field, ".shape"));
  if (!count.ok()) return count.status();
  const int64_t expected = PackedByteSize(tensor.dtype, *count);
  if (static_cast<int64_t>(tensor.data.size()) != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".data has ", tensor.data.size(), " bytes, but shape [",
        absl::StrJoin(tensor.shape, ", "), "] of ", DTypeName(tensor.dtype),
        " needs ", expected, " (", *count, " elements of ",
        DTypeBits(tensor.dtype), " bits)"));
  }
  return *count;
}

}  // namespace quantd
