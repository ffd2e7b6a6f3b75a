// Splitting a range of flat indices into spans whose parameter slots are
// either constant or consecutive, which is what the kernels take. Generic
// code only: not for files compiled with ISA flags.
#ifndef QUANTD_KERNELS_SLOT_SPANS_H_
#define QUANTD_KERNELS_SLOT_SPANS_H_

#include <algorithm>
#include <cstdint>

#include "kernels/kernels.h"
#include "quantd/layout.h"

namespace quantd {

// The span starting at flat index i and ending at `end` at the latest.
inline SlotSpan SlotSpanAt(const SlotLayout& layout, int64_t i, int64_t end) {
  SlotSpan span;
  span.start = i;
  if (layout.slots() == 1) {
    span.count = end - i;
  } else if (layout.group_size == 0 && layout.inner == 1) {
    // A last channel axis: consecutive elements, consecutive channels.
    span.slot = i % layout.axis_len;
    span.stride = 1;
    span.count = std::min(layout.axis_len - span.slot, end - i);
  } else if (layout.group_size == 0) {
    span.slot = layout.SlotOf(i);
    span.count = std::min(layout.inner - i % layout.inner, end - i);
  } else if (layout.inner == 1) {
    // Groups along the last axis: a run to the end of the block.
    const int64_t a = i % layout.axis_len;
    const int64_t block_end = std::min((a / layout.group_size + 1) * layout.group_size, layout.axis_len);
    span.slot = layout.SlotOf(i);
    span.count = std::min(block_end - a, end - i);
  } else {
    // Groups along an inner axis: along a row of `inner`, the slots follow.
    span.slot = layout.SlotOf(i);
    span.stride = 1;
    span.count = std::min(layout.inner - i % layout.inner, end - i);
  }
  return span;
}

// Calls fn(SlotSpan) for consecutive spans covering [begin, end), the
// spans of SlotSpanAt; stops early when fn returns false.
template <typename Fn>
void ForEachSlotSpan(const SlotLayout& layout, int64_t begin, int64_t end, Fn fn) {
  if (begin >= end) return;
  // Groups along the last axis: every span after the first starts a group
  // and has the next slot, so it follows from the one before without
  // SlotSpanAt's divisions, which would cost as much as the kernel on a
  // short group.
  const bool next_group = layout.group_size > 0 && layout.inner == 1 && layout.slots() > 1;
  int64_t a = next_group ? begin % layout.axis_len : 0;  // The span's index along the axis.
  SlotSpan span = SlotSpanAt(layout, begin, end);
  for (;;) {
    if (!fn(span)) return;
    const int64_t i = span.start + span.count;
    if (i >= end) return;
    if (!next_group) {
      span = SlotSpanAt(layout, i, end);
      continue;
    }
    a += span.count;  // The span ended at its group's end.
    if (a == layout.axis_len) a = 0;
    span.start = i;
    span.slot += 1;
    span.count = std::min(std::min(layout.group_size, layout.axis_len - a), end - i);
  }
}

// As ForEachSlotSpan, for the quantize and dequantize kernels: where
// groups lie along the last axis, none is short and their size is a multiple of 16, the whole
// groups in [begin, end) come as one span of SlotSpan::group, so that a
// kernel keeps its loop and its error sums across groups instead of
// starting over for each (a group of 128 elements is over in about 30 ns).
// The partial groups at either end come alone.
template <typename Fn>
void ForEachKernelSpan(const SlotLayout& layout, int64_t begin, int64_t end, Fn fn) {
  const int64_t g = layout.group_size;
  const bool runs = g > 0 && g % 16 == 0 && layout.inner == 1 && layout.slots() > 1 &&
                    layout.axis_len % g == 0;
  if (!runs) return ForEachSlotSpan(layout, begin, end, fn);
  // Every group is whole, so group boundaries are the multiples of g.
  const int64_t first_whole = std::min((begin + g - 1) / g * g, end);
  const int64_t last_whole = std::max(end / g * g, first_whole);
  if (begin < first_whole && !fn(SlotSpanAt(layout, begin, first_whole))) return;
  if (first_whole < last_whole &&
      !fn(SlotSpan{first_whole, last_whole - first_whole, layout.SlotOf(first_whole), 0, g})) {
    return;
  }
  if (last_whole < end) fn(SlotSpanAt(layout, last_whole, end));
}

}  // namespace quantd

#endif  // QUANTD_KERNELS_SLOT_SPANS_H_
