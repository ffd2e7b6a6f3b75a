// Memory-bound reference loops with quantize's and dequantize's traffic:
// the limits the report measures quantd's kernels against.
#ifndef QUANTD_BENCH_STREAM_KERNELS_H_
#define QUANTD_BENCH_STREAM_KERNELS_H_

#include <cstdint>

namespace quantd::bench {

// Reads n floats, writes n bytes (a plain conversion): quantize's traffic.
void Stream4To1(const float* x, int8_t* out, int64_t n);
// Reads n bytes, writes n floats: dequantize's traffic.
void Stream1To4(const int8_t* q, float* out, int64_t n);
// Reads n floats, writes n / 2 bytes (a conversion to 4 bits, two per
// byte; n even): 4-bit quantize's traffic.
void Stream4ToHalf(const float* x, uint8_t* out, int64_t n);
// Reads n / 2 bytes, writes n floats (n even): 4-bit dequantize's traffic.
void StreamHalfTo4(const uint8_t* q, float* out, int64_t n);

// Reads `bytes` bytes and writes nothing (a sum that the caller keeps): the
// traffic of a kernel bound by reading its operand, as a matmul of one row
// is by its weights. Returns the sum.
uint64_t StreamRead(const uint8_t* p, int64_t bytes);

}  // namespace quantd::bench

#endif  // QUANTD_BENCH_STREAM_KERNELS_H_
