// How a tensor's elements map to parameter slots: each slot has one scale,
// one zero point and (for codebook types) one codebook.
#ifndef QUANTD_LAYOUT_H_
#define QUANTD_LAYOUT_H_

#include <algorithm>
#include <cstdint>

namespace quantd {

// The tensor seen as [outer, axis_len, inner] around the quantization axis.
// PER_TENSOR is one slot (axis_len 1, inner = every element); PER_CHANNEL
// has a slot per index along the axis; PER_GROUP (group_size > 0) splits
// the axis into blocks of group_size (the last may be short) and has a slot
// per block and per position of the other axes, numbered in row-major order
// of the shape with the axis replaced by the block count (API.md).
struct SlotLayout {
  int64_t outer = 1;
  int64_t axis_len = 1;
  int64_t inner = 0;
  int64_t group_size = 0;  // 0 unless PER_GROUP.

  int64_t blocks() const {
    return group_size > 0 ? (axis_len + group_size - 1) / group_size : axis_len;
  }
  int64_t slots() const { return group_size > 0 ? outer * blocks() * inner : axis_len; }

  int64_t SlotOf(int64_t flat_index) const {
    const int64_t a = (flat_index / inner) % axis_len;
    if (group_size == 0) return a;
    const int64_t o = flat_index / (axis_len * inner);
    return (o * blocks() + a / group_size) * inner + flat_index % inner;
  }

  // How many elements share a slot.
  int64_t SlotElements(int64_t slot) const {
    if (group_size == 0) return outer * inner;
    const int64_t block = (slot / inner) % blocks();
    return std::min(group_size, axis_len - block * group_size);
  }
};

}  // namespace quantd

#endif  // QUANTD_LAYOUT_H_
