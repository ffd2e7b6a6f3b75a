// Splitting a range of flat indices into spans whose channel parameters are
// either constant or consecutive, which is what the kernels take. Generic
// code only: not for files compiled with ISA flags.
#ifndef QUANTD_KERNELS_CHANNEL_SPANS_H_
#define QUANTD_KERNELS_CHANNEL_SPANS_H_

#include <algorithm>
#include <cstdint>

#include "kernels/int_kernels.h"
#include "quantd/layout.h"

namespace quantd {

// Calls fn(ChannelSpan) for consecutive spans covering [begin, end); stops
// early when fn returns false. A last channel axis (inner == 1) gives spans
// of stride 1 along each row; otherwise each span stays in one channel.
template <typename Fn>
void ForEachChannelSpan(const ChannelLayout& layout, int64_t begin, int64_t end, Fn fn) {
  for (int64_t i = begin; i < end;) {
    ChannelSpan span;
    span.start = i;
    if (layout.channels == 1) {
      span.count = end - i;
    } else if (layout.inner == 1) {
      span.channel = i % layout.channels;
      span.stride = 1;
      span.count = std::min(layout.channels - span.channel, end - i);
    } else {
      span.channel = layout.ChannelOf(i);
      span.count = std::min(layout.inner - i % layout.inner, end - i);
    }
    if (!fn(span)) return;
    i += span.count;
  }
}

}  // namespace quantd

#endif  // QUANTD_KERNELS_CHANNEL_SPANS_H_
