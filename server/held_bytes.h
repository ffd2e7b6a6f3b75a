// How many bytes of tensors a Quantizer call holds while it runs: its
// request plus the response its handler will build. The call gate charges
// this against --max_server_memory_bytes before the handler allocates
// anything. Estimates trust only what the request carries: a shape that
// its data cannot back is an invalid request, which the handler rejects
// without allocating, so it is charged its request alone.
#ifndef QUANTD_SERVER_HELD_BYTES_H_
#define QUANTD_SERVER_HELD_BYTES_H_

#include <cstdint>

#include "quantd/v1/quantd.pb.h"

namespace quantd::server {

// The quantized output takes at most 2 bytes per element, and the
// dequantized copy (when asked) is the input's size.
int64_t HeldBytes(const v1::QuantizeRequest& request);
// The float output: elements times 4 bytes (2 for FLOAT16 and BFLOAT16).
int64_t HeldBytes(const v1::DequantizeRequest& request);
// The float product [M, N].
int64_t HeldBytes(const v1::MatMulRequest& request);
// Rows of statistics only: the request.
int64_t HeldBytes(const v1::AnalyzeRequest& request);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_HELD_BYTES_H_
