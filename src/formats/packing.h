// Codes of any width in a packed, little-endian byte array: sub-byte codes
// over the flattened tensor with the first element in the lowest bits.
// Scalar, inline: for generic code only.
#ifndef QUANTD_FORMATS_PACKING_H_
#define QUANTD_FORMATS_PACKING_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace quantd {

inline uint32_t LoadCode(int bits, const std::byte* data, int64_t i) {
  if (bits == 16) {
    uint16_t v;
    std::memcpy(&v, data + 2 * i, 2);
    return v;
  }
  if (bits == 8) return static_cast<uint8_t>(data[i]);
  const int64_t bit = i * bits;
  const uint32_t byte = static_cast<uint8_t>(data[bit >> 3]);
  return (byte >> (bit & 7)) & ((1u << bits) - 1);
}

// Writes only the code's own bits, so neighbours in the same byte survive.
inline void StoreCode(int bits, std::byte* data, int64_t i, uint32_t code) {
  if (bits == 16) {
    const uint16_t v = static_cast<uint16_t>(code);
    std::memcpy(data + 2 * i, &v, 2);
    return;
  }
  if (bits == 8) {
    data[i] = static_cast<std::byte>(code);
    return;
  }
  const int64_t bit = i * bits;
  const uint32_t mask = ((1u << bits) - 1) << (bit & 7);
  const uint32_t byte = static_cast<uint8_t>(data[bit >> 3]);
  data[bit >> 3] = static_cast<std::byte>((byte & ~mask) | ((code << (bit & 7)) & mask));
}

// Sign-extends the low `bits` bits of a two's complement code.
inline int32_t SignExtend(uint32_t code, int bits) {
  const uint32_t sign = 1u << (bits - 1);
  return static_cast<int32_t>((code ^ sign) - sign);
}

}  // namespace quantd

#endif  // QUANTD_FORMATS_PACKING_H_
