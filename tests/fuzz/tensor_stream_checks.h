// What the two tensor-stream fuzz targets share: sizing a stream's data
// messages to what its header promises (for the mutator), and joining what
// a stream carried back into one tensor (to compare with the unary call).
#ifndef QUANTD_TESTS_FUZZ_TENSOR_STREAM_CHECKS_H_
#define QUANTD_TESTS_FUZZ_TENSOR_STREAM_CHECKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/repeated_field.h>

#include "quantd/dtype.h"

namespace quantd::fuzz {

// The bytes `shape` of `dtype` takes, or -1 when that is negative, absurd
// or above `limit`.
inline int64_t PromisedBytes(int dtype, const google::protobuf::RepeatedField<int64_t>& shape,
                             int64_t limit) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && count > (int64_t{1} << 30) / d)) return -1;
    count *= d;
  }
  const int bits = DTypeBits(static_cast<DType>(dtype));
  if (bits <= 0) return -1;
  const int64_t bytes = (count * bits + 7) / 8;
  return bytes <= limit ? bytes : -1;
}

// Resizes the data of a stream whose first message is a header (`Header`
// read by `header_of`) so that its data messages together hold what the
// header promises: the last data message grows or shrinks (dropping
// messages when it must), or one is added.
template <typename Request, typename HeaderOf>
void FitStreamData(std::vector<Request>* stream, HeaderOf header_of) {
  if (stream->empty() || !(*stream)[0].has_header()) return;
  const auto& header = header_of((*stream)[0]);
  int64_t want = PromisedBytes(header.dtype(), header.shape(), int64_t{1} << 20);
  if (want < 0) return;
  std::vector<Request> fitted{(*stream)[0]};
  for (size_t i = 1; i < stream->size() && want > 0; ++i) {
    if ((*stream)[i].has_header()) {
      fitted.push_back((*stream)[i]);
      continue;
    }
    std::string data = (*stream)[i].data();
    if (static_cast<int64_t>(data.size()) > want) data.resize(static_cast<size_t>(want));
    want -= static_cast<int64_t>(data.size());
    fitted.push_back((*stream)[i]);
    fitted.back().set_data(std::move(data));
  }
  if (want > 0) fitted.emplace_back().set_data(std::string(static_cast<size_t>(want), '\x3c'));
  *stream = std::move(fitted);
}

}  // namespace quantd::fuzz

#endif  // QUANTD_TESTS_FUZZ_TENSOR_STREAM_CHECKS_H_
