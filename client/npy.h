// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0),
// the exchange format of quantctl.
#ifndef QUANTD_CLIENT_NPY_H_
#define QUANTD_CLIENT_NPY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quantd::client {

// The element types quantctl exchanges, as NumPy descr strings. Single-byte
// types carry '|' (no byte order), as NumPy itself writes them. NumPy has no
// bfloat16, so bfloat16 travels as its raw bits in kNpyUInt16.
inline constexpr absl::string_view kNpyFloat32 = "<f4";
inline constexpr absl::string_view kNpyFloat16 = "<f2";
inline constexpr absl::string_view kNpyFloat64 = "<f8";
inline constexpr absl::string_view kNpyInt8 = "|i1";
inline constexpr absl::string_view kNpyUInt8 = "|u1";
inline constexpr absl::string_view kNpyUInt16 = "<u2";
inline constexpr absl::string_view kNpyInt32 = "<i4";

// A C-ordered, little-endian array.
struct NpyArray {
  std::string descr;           // One of the kNpy* strings above.
  std::vector<int64_t> shape;  // [] is a scalar.
  std::string data;            // Exactly NumElements(shape) * item size bytes.
};

// What the header dictionary of an .npy file says.
struct NpyHeader {
  std::string descr;  // Normalised: single-byte types carry '|'.
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Bytes per element of a supported descr; 0 when `descr` is not supported.
int NpyItemSize(absl::string_view descr);

// The product of `shape`, or an error when a dimension is negative or the
// product exceeds `limit` (so callers can bound it by what a file holds).
absl::StatusOr<int64_t> NpyNumElements(const std::vector<int64_t>& shape, int64_t limit);

// Parses the Python literal dictionary of an .npy header, e.g.
// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }". Validates
// the syntax and the keys only; ReadNpy decides what it supports.
absl::StatusOr<NpyHeader> ParseNpyHeader(absl::string_view dict);

// Reads `path`. Rejects, naming the file: other descrs (structured,
// big-endian, object, ...), fortran_order True, and a shape that disagrees
// with the file's size. Nothing is allocated for the data before its claimed
// size has been checked against the file's size.
absl::StatusOr<NpyArray> ReadNpy(const std::string& path);

// The bytes of an .npy file that precede `array.data`: format 1.0, or 2.0
// when the header needs more than 64 KiB, padded to 64 bytes as NumPy does.
// Checks that the data size matches the shape.
absl::StatusOr<std::string> EncodeNpyHeader(const NpyArray& array);

// Writes `array` to `path`, replacing it.
absl::Status WriteNpy(const std::string& path, const NpyArray& array);

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_NPY_H_
