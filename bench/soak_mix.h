// The soak's mix of calls and their weights.
#ifndef QUANTD_BENCH_SOAK_MIX_H_
#define QUANTD_BENCH_SOAK_MIX_H_

#include "soak_call.h"

namespace quantd::soak {

// Makes one call, picked at random by weight from the mix (soak_mix.cc):
// mostly Quantize and Dequantize of every size, then QuantizedMatMul,
// streams, Analyze, and about one call in four cancelled, given a short
// deadline or malformed.
CallRecord RunOneCall(Caller& caller);

}  // namespace quantd::soak

#endif  // QUANTD_BENCH_SOAK_MIX_H_
