// Register-only loops of independent vpdpbusd: the int8 multiply-add peak
// of one core, the ceiling the matmul report measures kernels against.
// Defined in vnni_peak_kernels.cc, the one file built with the VNNI flags;
// call each only when the CPU runs it.
#ifndef QUANTD_BENCH_VNNI_PEAK_KERNELS_H_
#define QUANTD_BENCH_VNNI_PEAK_KERNELS_H_

#include <cstdint>

namespace quantd::bench {

// Independent accumulators per loop trip: enough to cover vpdpbusd's
// latency at two issues per cycle.
inline constexpr int kPeakAccumulators = 12;

// `trips` trips of kPeakAccumulators vpdpbusd zmm (64 MACs each, AVX512_VNNI);
// returns a value of the accumulators so that nothing is optimized away.
int32_t DpbusdZmmLoop(int64_t trips, int32_t a, int32_t b);
// The same with VEX vpdpbusd ymm (32 MACs each, AVX-VNNI).
int32_t DpbusdYmmLoop(int64_t trips, int32_t a, int32_t b);

}  // namespace quantd::bench

#endif  // QUANTD_BENCH_VNNI_PEAK_KERNELS_H_
