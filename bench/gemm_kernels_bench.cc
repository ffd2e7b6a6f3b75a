// The integer dot-product kernels of every matrix table the CPU runs, on
// one thread, over tiles that stay in L2 (rows x panels x steps), and the
// register-only vpdpbusd loop that bounds them. Counter "GOPS": 2 ops
// (multiply, add) a product, 2 rows 16 panels k per call.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "kernels/gemm.h"

namespace quantd::bench {
namespace {

enum class Form { kS8, kU4 };

void Dot(benchmark::State& state, const GemmKernels* table, Form form) {
  if (table == nullptr) {
    state.SkipWithError("this CPU lacks the table");
    return;
  }
  const int64_t rows = state.range(0), panels = state.range(1), steps = state.range(2);
  const int64_t k = (form == Form::kS8 ? 4 : 8) * steps;
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> a(rows * k);
  std::vector<std::byte> b(panels * steps * kPanelStepBytes);
  for (uint8_t& v : a) v = static_cast<uint8_t>(byte(rng));
  for (std::byte& v : b) v = static_cast<std::byte>(byte(rng));
  std::vector<int32_t> d(rows * panels * kPanelColumns);
  const GemmTile tile{.a = a.data(), .lda = k, .b = b.data(), .panel_stride = steps * kPanelStepBytes,
                      .steps = steps, .d = d.data(), .ldd = panels * kPanelColumns, .rows = rows,
                      .panels = panels};
  const DotS8Fn fn = form == Form::kS8 ? table->dot_s8 : table->dot_u4;
  for (auto _ : state) {
    fn(tile);
    benchmark::DoNotOptimize(d.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOPS"] = benchmark::Counter(static_cast<double>(2 * rows * panels * kPanelColumns * k) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// 24 independent vpdpbusd chains on registers: the most the core retires.
// In assembly, since the compiler would move the accumulators around.
__attribute__((target("avx512f,avx512vnni"))) void DpbusdLoop(int64_t iterations) {
  __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-5);
#define QUANTD_DP(n) "vpdpbusd %[y], %[x], %%zmm" #n "\n\t"
  asm volatile(
      "1:\n\t"
      QUANTD_DP(0) QUANTD_DP(1) QUANTD_DP(2) QUANTD_DP(3) QUANTD_DP(4) QUANTD_DP(5)
      QUANTD_DP(6) QUANTD_DP(7) QUANTD_DP(8) QUANTD_DP(9) QUANTD_DP(10) QUANTD_DP(11)
      QUANTD_DP(12) QUANTD_DP(13) QUANTD_DP(14) QUANTD_DP(15) QUANTD_DP(16) QUANTD_DP(17)
      QUANTD_DP(18) QUANTD_DP(19) QUANTD_DP(20) QUANTD_DP(21) QUANTD_DP(22) QUANTD_DP(23)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      : [n] "+r"(iterations)
      : [x] "v"(x), [y] "v"(y)
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
        "xmm19", "xmm20", "xmm21", "xmm22", "xmm23");
#undef QUANTD_DP
}

void DpbusdPeak(benchmark::State& state) {
  if (GemmKernelsAvx512Vnni() == nullptr) {
    state.SkipWithError("this CPU lacks AVX-512 VNNI");
    return;
  }
  constexpr int64_t kIterations = 4096;
  for (auto _ : state) DpbusdLoop(kIterations);
  state.counters["GOPS"] = benchmark::Counter(2.0 * kIterations * 24 * 64 * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// L2-resident tiles (64 x 4 x 256 S8: 64 KiB of panels, 64 KiB of
// activations), one with panels larger than L1, and a long span.
void Shapes(benchmark::internal::Benchmark* b) {
  b->Args({64, 4, 256})->Args({64, 4, 64})->Args({96, 8, 128})->Args({256, 16, 64})->Args({16, 4, 2048});
}

BENCHMARK(DpbusdPeak)->Name("gemm/dpbusd_register_peak");
BENCHMARK_CAPTURE(Dot, s8_avx512_vnni, GemmKernelsAvx512Vnni(), Form::kS8)->Apply(Shapes);
BENCHMARK_CAPTURE(Dot, u4_avx512_vnni, GemmKernelsAvx512Vnni(), Form::kU4)->Apply(Shapes);
BENCHMARK_CAPTURE(Dot, s8_avx512, GemmKernelsAvx512(), Form::kS8)->Apply(Shapes);
BENCHMARK_CAPTURE(Dot, u4_avx512, GemmKernelsAvx512(), Form::kU4)->Apply(Shapes);
BENCHMARK_CAPTURE(Dot, s8_avx_vnni, GemmKernelsAvxVnni(), Form::kS8)->Apply(Shapes);
BENCHMARK_CAPTURE(Dot, u4_avx_vnni, GemmKernelsAvxVnni(), Form::kU4)->Apply(Shapes);
BENCHMARK_CAPTURE(Dot, s8_avx2, GemmKernelsAvx2(), Form::kS8)->Apply(Shapes);
BENCHMARK_CAPTURE(Dot, u4_avx2, GemmKernelsAvx2(), Form::kU4)->Apply(Shapes);
BENCHMARK_CAPTURE(Dot, s8_scalar, &GemmKernelsReference(), Form::kS8)->Args({16, 2, 64});

}  // namespace
}  // namespace quantd::bench

BENCHMARK_MAIN();
