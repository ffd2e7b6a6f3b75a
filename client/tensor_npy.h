// Between wire tensors (quantd.v1.Tensor) and .npy arrays: which NumPy type
// carries each DType, and the unpacking of sub-byte types to one element per
// byte so that their shape survives the trip through a file.
#ifndef QUANTD_CLIENT_TENSOR_NPY_H_
#define QUANTD_CLIENT_TENSOR_NPY_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/npy.h"
#include "quantd/v1/quantd.pb.h"

namespace quantd::client {

// The .npy descr that carries `dtype`, or an error for types that are no
// tensor's (UNSPECIFIED, AUTO, unknown numbers). Floats map to their NumPy
// twins; BFLOAT16 to '<u2' (its raw bits); INT8 to '|i1'; INT32 to '<i4';
// other 8-bit codes (UINT8, FP8, LUT8, E8M0) to '|u1'. Sub-byte types are
// unpacked one element per byte: values for INT4, TERNARY and BINARY (-1/+1)
// in '|i1', codes for UINT4, NF4, FLOAT4_E2M1 and LUT4 in '|u1'.
absl::StatusOr<absl::string_view> NpyDescrFor(v1::DType dtype);

// The DType an .npy array of `descr` holds when nothing else says: the
// NumPy twin, with '<u2' read as BFLOAT16 bits and '|u1' as UINT8.
absl::StatusOr<v1::DType> DefaultDTypeFor(absl::string_view descr);

// A tensor of `dtype` from `array`, packing sub-byte types. `array.descr`
// must be NpyDescrFor(dtype) and sub-byte values must be in range; `name`
// (the file) prefixes every error. The data is moved, not copied, when no
// packing is needed.
absl::StatusOr<v1::Tensor> TensorFromNpy(NpyArray array, v1::DType dtype, absl::string_view name);

// The .npy array of `tensor`, unpacking sub-byte types. Checks that the
// tensor's data length matches its shape and dtype.
absl::StatusOr<NpyArray> NpyFromTensor(v1::Tensor tensor);

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_TENSOR_NPY_H_
