// OpenBLAS's cblas_sgemm on the shapes of matmul_bench.cc: Y[M, N] =
// A[M, K] B[N, K]^T in float32, the weights [N, K] as quantd takes them.
// Rates are floating-point operations per second, 2 M N K per run. Threads
// by openblas_set_num_threads (1, all). Run it with OPENBLAS_CORETYPE unset:
// this machine's environment pins it to Haswell's kernels.
#include <cblas.h>

#include <vector>

#include "bench_util.h"

namespace quantd::bench {
namespace {

void Sgemm(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  openblas_set_num_threads(static_cast<int>(state.range(3)));
  const std::vector<float>& x = NormalFloats(m * k + n * k);
  const float* a = x.data();
  const float* b = x.data() + m * k;
  const std::span<float> c = Scratch<float>(m * n);
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, a, static_cast<int>(k), b, static_cast<int>(k), 0.0f, c.data(),
                static_cast<int>(n));
  };
  run();  // Starts OpenBLAS's threads; not timed.
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(c.data());
  }
  state.SetItemsProcessed(state.iterations() * 2 * m * n * k);
  state.SetLabel(openblas_get_corename());
}

BENCHMARK(Sgemm)->Name("openblas/sgemm")->Apply([](benchmark::internal::Benchmark* b) {
  MatMulArgs(b, ThreadCounts());
});

}  // namespace
}  // namespace quantd::bench

BENCHMARK_MAIN();
