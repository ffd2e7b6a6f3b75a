// Tensor <-> .npy conversion. The packing rules are those of API.md: the
// flattened tensor, first element in the lowest bits, tail byte zero-padded.
#include "client/tensor_npy.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "quantd/status_macros.h"

namespace quantd::client {
namespace {

// How a DType is stored on the wire, as far as the client needs to know.
struct Storage {
  int bits = 0;             // Per element on the wire.
  bool is_signed = false;   // Sub-byte values sign-extend (two's complement).
  bool is_binary = false;   // One bit: set = +1, clear = -1.
  absl::string_view descr;  // In .npy files.
};

absl::StatusOr<Storage> StorageOf(v1::DType dtype) {
  switch (dtype) {
    case v1::DTYPE_FLOAT32:
      return Storage{32, false, false, kNpyFloat32};
    case v1::DTYPE_FLOAT16:
      return Storage{16, false, false, kNpyFloat16};
    case v1::DTYPE_BFLOAT16:
      return Storage{16, false, false, kNpyUInt16};
    case v1::DTYPE_FLOAT64:
      return Storage{64, false, false, kNpyFloat64};
    case v1::DTYPE_INT32:
      return Storage{32, false, false, kNpyInt32};
    case v1::DTYPE_INT8:
      return Storage{8, false, false, kNpyInt8};
    case v1::DTYPE_UINT8:
    case v1::DTYPE_FLOAT8_E4M3FN:
    case v1::DTYPE_FLOAT8_E5M2:
    case v1::DTYPE_LUT8:
    case v1::DTYPE_E8M0:
      return Storage{8, false, false, kNpyUInt8};
    case v1::DTYPE_INT4:
      return Storage{4, true, false, kNpyInt8};
    case v1::DTYPE_UINT4:
    case v1::DTYPE_NF4:
    case v1::DTYPE_FLOAT4_E2M1:
    case v1::DTYPE_LUT4:
      return Storage{4, false, false, kNpyUInt8};
    case v1::DTYPE_TERNARY:
      return Storage{2, true, false, kNpyInt8};
    case v1::DTYPE_BINARY:
      return Storage{1, false, true, kNpyInt8};
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "dtype ", v1::DType_IsValid(dtype) ? v1::DType_Name(dtype) : absl::StrCat(dtype),
          " is not the type of a tensor"));
  }
}

// The wire code of one unpacked value, or -1 when it is out of range.
int CodeOf(int value, const Storage& storage) {
  if (storage.is_binary) return value == 1 ? 1 : value == -1 ? 0 : -1;
  const int levels = 1 << storage.bits;
  if (storage.is_signed) {
    // TERNARY is 2-bit two's complement restricted to {-1, 0, +1}.
    const int lowest = storage.bits == 2 ? -1 : -levels / 2;
    if (value < lowest || value >= levels / 2) return -1;
    return value & (levels - 1);
  }
  return value >= 0 && value < levels ? value : -1;
}

int ValueOf(int code, const Storage& storage) {
  if (storage.is_binary) return code != 0 ? 1 : -1;
  if (storage.is_signed && code >= (1 << (storage.bits - 1))) return code - (1 << storage.bits);
  return code;
}

}  // namespace

absl::StatusOr<absl::string_view> NpyDescrFor(v1::DType dtype) {
  QUANTD_ASSIGN_OR_RETURN(Storage storage, StorageOf(dtype));
  return storage.descr;
}

absl::StatusOr<v1::DType> DefaultDTypeFor(absl::string_view descr) {
  if (descr == kNpyFloat32) return v1::DTYPE_FLOAT32;
  if (descr == kNpyFloat16) return v1::DTYPE_FLOAT16;
  if (descr == kNpyFloat64) return v1::DTYPE_FLOAT64;
  if (descr == kNpyUInt16) return v1::DTYPE_BFLOAT16;
  if (descr == kNpyInt8) return v1::DTYPE_INT8;
  if (descr == kNpyUInt8) return v1::DTYPE_UINT8;
  if (descr == kNpyInt32) return v1::DTYPE_INT32;
  return absl::InvalidArgumentError(absl::StrCat("no dtype for .npy type '", descr, "'"));
}

absl::StatusOr<v1::Tensor> TensorFromNpy(NpyArray array, v1::DType dtype, absl::string_view name) {
  auto storage = StorageOf(dtype);
  if (!storage.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", storage.status().message()));
  }
  if (array.descr != storage->descr) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": holds '", array.descr, "' but ",
                                                   v1::DType_Name(dtype), " travels in .npy as '",
                                                   storage->descr, "'"));
  }
  v1::Tensor tensor;
  tensor.set_dtype(dtype);
  tensor.mutable_shape()->Assign(array.shape.begin(), array.shape.end());
  if (storage->bits >= 8) {
    tensor.set_data(std::move(array.data));
    return tensor;
  }

  const int per_byte = 8 / storage->bits;
  std::string* packed = tensor.mutable_data();
  packed->assign((array.data.size() + per_byte - 1) / per_byte, '\0');
  for (size_t i = 0; i < array.data.size(); ++i) {
    const int value = storage->descr == kNpyInt8 ? static_cast<signed char>(array.data[i])
                                                 : static_cast<unsigned char>(array.data[i]);
    const int code = CodeOf(value, *storage);
    if (code < 0) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": element ", i, " is ", value,
                                                     ", not a ", v1::DType_Name(dtype), " value"));
    }
    (*packed)[i / per_byte] =
        static_cast<char>(static_cast<unsigned char>((*packed)[i / per_byte]) |
                          (code << (i % per_byte * storage->bits)));
  }
  return tensor;
}

absl::StatusOr<NpyArray> NpyFromTensor(v1::Tensor tensor) {
  QUANTD_ASSIGN_OR_RETURN(Storage storage, StorageOf(tensor.dtype()));
  NpyArray array;
  array.descr = std::string(storage.descr);
  array.shape.assign(tensor.shape().begin(), tensor.shape().end());

  // The element count is bounded by what the data can hold, so a wrong
  // shape cannot make the unpacked buffer below outgrow the message.
  const int64_t data_bits_limit = std::numeric_limits<int64_t>::max() / 8;
  const int64_t data_size = static_cast<int64_t>(tensor.data().size());
  const int64_t max_count = data_size > data_bits_limit
                                ? std::numeric_limits<int64_t>::max() / storage.bits
                                : data_size * 8 / storage.bits;
  auto count = NpyNumElements(array.shape, max_count);
  if (!count.ok() || (*count * storage.bits + 7) / 8 != data_size) {
    return absl::InternalError(
        absl::StrCat("the server returned a ", v1::DType_Name(tensor.dtype()), " tensor whose ",
                     data_size, " data bytes do not match its shape",
                     count.ok() ? absl::StrCat(" (", *count, " elements)") : std::string()));
  }
  if (storage.bits >= 8) {
    array.data = std::move(*tensor.mutable_data());
    return array;
  }

  const int per_byte = 8 / storage.bits;
  const int mask = (1 << storage.bits) - 1;
  const std::string& packed = tensor.data();
  array.data.resize(static_cast<size_t>(*count));
  for (int64_t i = 0; i < *count; ++i) {
    const int code =
        (static_cast<unsigned char>(packed[i / per_byte]) >> (i % per_byte * storage.bits)) & mask;
    array.data[i] = static_cast<char>(ValueOf(code, storage));
  }
  return array;
}

}  // namespace quantd::client
