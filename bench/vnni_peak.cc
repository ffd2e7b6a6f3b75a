// The int8 peak this machine measures: independent vpdpbusd on registers
// (vnni_peak_kernels.cc), zmm (AVX512_VNNI) and ymm (AVX-VNNI), on one
// thread and on all (each thread its own loop). Items are int8 operations:
// a vpdpbusd zmm is 64 multiply-adds, 128 operations; ymm half that. The
// matmul report divides GEMM rates by the zmm peak of the same thread
// count. Skipped on CPUs without the instructions. Linked into
// quantd_matmul_bench (measured in the same run as the products) and, with
// Google Benchmark's main, alone as quantd_vnni_peak.
#include <cstdint>

#include "bench_util.h"
#include "kernels/gemm_simd.h"
#include "quantd/isa.h"
#include "vnni_peak_kernels.h"

namespace quantd::bench {
namespace {

// About 0.1 to 0.3 ms per iteration at two vpdpbusd per cycle.
constexpr int64_t kTrips = int64_t{1} << 16;

void Peak(benchmark::State& state, bool zmm) {
  if (zmm ? DetectedIsa() < Isa::kAvx512Vnni : !HasAvxVnni()) {
    state.SkipWithError(zmm ? "this CPU has no AVX512_VNNI" : "this CPU has no AVX-VNNI");
    return;
  }
  int32_t a = 0x01020304, b = 0x05060708;
  benchmark::DoNotOptimize(a);
  benchmark::DoNotOptimize(b);
  for (auto _ : state) benchmark::DoNotOptimize(zmm ? DpbusdZmmLoop(kTrips, a, b) : DpbusdYmmLoop(kTrips, a, b));
  const int64_t ops_per_instruction = zmm ? 128 : 64;
  state.SetItemsProcessed(state.iterations() * kTrips * kPeakAccumulators * ops_per_instruction);
}

// Name/trips/threads; Google Benchmark sums the items of the threads and
// divides by the (mean) wall time: items_per_second is the machine's rate.
void PeakThreads(benchmark::internal::Benchmark* b) {
  b->Arg(kTrips);
  for (int threads : ThreadCounts()) b->Threads(threads);
  b->UseRealTime();
}

BENCHMARK_CAPTURE(Peak, zmm, true)->Name("vnni_peak/avx512_vnni_zmm")->Apply(PeakThreads);
BENCHMARK_CAPTURE(Peak, ymm, false)->Name("vnni_peak/avx_vnni_ymm")->Apply(PeakThreads);

}  // namespace
}  // namespace quantd::bench
