// Loading and storing float elements of any input dtype from unaligned,
// little-endian bytes. The scalar building blocks of the reference kernels.
#ifndef QUANTD_FORMATS_ELEMENT_IO_H_
#define QUANTD_FORMATS_ELEMENT_IO_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "formats/float16.h"
#include "quantd/dtype.h"

namespace quantd {

template <typename T>
inline T LoadUnaligned(const std::byte* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

template <typename T>
inline void StoreUnaligned(std::byte* p, T value) {
  std::memcpy(p, &value, sizeof(T));
}

// Element i of a float tensor (FLOAT32, FLOAT16, BFLOAT16, FLOAT64) as a
// double: exact for every input dtype.
inline double LoadFloatElement(DType dtype, const std::byte* data, int64_t i) {
  switch (dtype) {
    case DType::kFloat32: return LoadUnaligned<float>(data + 4 * i);
    case DType::kFloat16: return HalfBitsToFloat(LoadUnaligned<uint16_t>(data + 2 * i));
    case DType::kBFloat16: return BFloat16BitsToFloat(LoadUnaligned<uint16_t>(data + 2 * i));
    case DType::kFloat64: return LoadUnaligned<double>(data + 8 * i);
    default: return 0;  // Callers validate the dtype first.
  }
}

// Stores a float32 value as element i of a FLOAT32, FLOAT16, BFLOAT16 or
// FLOAT64 tensor, rounding to nearest even where it narrows.
inline void StoreFloatElement(DType dtype, std::byte* data, int64_t i, float v) {
  switch (dtype) {
    case DType::kFloat32: StoreUnaligned<float>(data + 4 * i, v); break;
    case DType::kFloat16: StoreUnaligned<uint16_t>(data + 2 * i, FloatToHalfBits(v)); break;
    case DType::kBFloat16: StoreUnaligned<uint16_t>(data + 2 * i, FloatToBFloat16Bits(v)); break;
    case DType::kFloat64: StoreUnaligned<double>(data + 8 * i, v); break;
    default: break;
  }
}

}  // namespace quantd

#endif  // QUANTD_FORMATS_ELEMENT_IO_H_
