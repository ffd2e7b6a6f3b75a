// How a tensor splits into channels: [outer, channels, inner] around an axis.
#ifndef QUANTD_LAYOUT_H_
#define QUANTD_LAYOUT_H_

#include <cstdint>

namespace quantd {

// Element i belongs to channel (i / inner) % channels. A per-tensor layout
// is one channel of everything.
struct ChannelLayout {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 0;

  int64_t ChannelOf(int64_t flat_index) const {
    return (flat_index / inner) % channels;
  }
};

}  // namespace quantd

#endif  // QUANTD_LAYOUT_H_
