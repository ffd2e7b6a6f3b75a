// The calls the soak mixes. Each builds a random request, sends it, and
// judges the answer against the soak's own (soak_reference.h); none throws
// or stops the soak, whatever the server does.
#ifndef QUANTD_BENCH_SOAK_CALLS_H_
#define QUANTD_BENCH_SOAK_CALLS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "soak_call.h"

namespace quantd::soak {

// Tensor sizes, from a few elements to 16 MiB of float32.
enum class Size {
  kTiny,    // 1 to 16 elements.
  kSmall,   // up to 16 KiB.
  kMedium,  // up to 1 MiB.
  kLarge,   // 1 to 4 MiB.
  kHuge,    // 16 MiB: [1024, 4096].
};
// Mostly small, some large: weights 25, 40, 25, 7, 3 (out of 100); medium
// instead of large or huge when the caller gets no large slot.
Size PickSize(Caller& caller);
// `size`, or medium when it is large or huge and no large slot is free.
Size Affordable(Caller& caller, Size size);
// A [rows, cols] shape of that size; `slots` and a group size of 32, 64 or
// 128 (often not dividing cols, so the last block is short).
Layout PickLayout(Caller& caller, Size size, Slots slots);

// A Quantize request and what the soak expects of its answer.
struct QuantizeCase {
  Layout layout;
  Target target = Target::kInt8;
  std::vector<float> x;
  std::vector<float> given_scales;  // Sent as explicit params when not empty.
  v1::QuantizeRequest request;
};
QuantizeCase MakeQuantizeCase(Caller& caller, Target target, Layout layout,
                              bool explicit_scales = false);
// "" when `response` is the answer to `c`: codes, params, error statistics
// (and x' when asked).
std::string VerifyQuantize(const QuantizeCase& c, const v1::QuantizeResponse& response);
Rpc QuantizeRpcOf(const QuantizeCase& c);  // kQuantize or kQuantizeLarge by size.

// Quantize to `target` per tensor, per row or per group; sometimes also
// asks for x'. Keeps the answer for a later Dequantize.
CallRecord QuantizeCall(Caller& caller, Target target, Slots slots);
// INT8 with explicit scales (the derived ones times 0.5 to 1.25, so that
// some values clip): the codes and the clipped count must follow them.
CallRecord QuantizeExplicitCall(Caller& caller);
// Dequantize of the caller's last Quantize answer (one is made first when
// there is none).
CallRecord DequantizeCall(Caller& caller);
// Small products: float, INT8 or INT4 (grouped) weights, 1 to 48 rows.
CallRecord MatMulCall(Caller& caller);
// Analyze with three candidates (or, one time in four, the default sweep).
CallRecord AnalyzeCall(Caller& caller);
// A Calibrate stream of 2 to 5 batches (MINMAX, INT8 or UINT8); with
// `cancel`, cancelled after its first batch.
CallRecord CalibrateCall(Caller& caller, bool cancel);
// A QuantizeStream of 2 to 6 chunks (derived or explicit INT8 scales); with
// `cancel`, cancelled after its first chunk.
CallRecord QuantizeStreamCall(Caller& caller, bool cancel);

// A Quantize of 64 KiB to 16 MiB cancelled (TryCancel) 0 to 5 ms after it
// was sent.
CallRecord CancelledQuantizeCall(Caller& caller);
// A Quantize with a deadline of 0.2 to 5 ms.
CallRecord ShortDeadlineQuantizeCall(Caller& caller);
// One of the malformed requests API.md says are INVALID_ARGUMENT.
CallRecord MalformedCall(Caller& caller);

// The v1 dtype of a target.
v1::DType DTypeOf(Target target);

}  // namespace quantd::soak

#endif  // QUANTD_BENCH_SOAK_CALLS_H_
