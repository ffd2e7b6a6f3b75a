// Quantize and dequantize throughput of the kernels, in input bytes per
// second, one thread and with a helper, next to a plain loop with the same
// traffic as the memory limit.
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "quantd/dequantize.h"
#include "quantd/kernel_pool.h"
#include "quantd/quantize.h"

namespace quantd {
namespace {

std::vector<float> RandomFloats(int64_t n) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

// state.range(1): threads helping the caller (0: the caller alone).
void BM_QuantizeInt8(benchmark::State& state, Granularity granularity, bool params_given) {
  const int64_t n = state.range(0);
  const std::vector<float> x = RandomFloats(n);
  const std::vector<int64_t> shape{n / 1024, 1024};
  const TensorView input{DType::kFloat32, shape, std::as_bytes(std::span(x))};
  QuantizeOptions options;
  options.dtype = DType::kInt8;
  options.granularity = granularity;
  if (params_given) {
    options.params = QuantParams{.dtype = DType::kInt8, .granularity = granularity,
                                 .scales = std::vector<float>(granularity == Granularity::kPerChannel
                                                                  ? shape[0] : 1, 0.03f)};
  }
  const QuantizeJob job = *PrepareQuantize(input, options);
  std::vector<std::byte> out(job.output_bytes);
  KernelPool pool(std::max<int>(1, state.range(1)), 16);
  ExecutionContext context;
  if (state.range(1) > 0) context.pool = &pool;
  for (auto _ : state) {
    auto result = RunQuantize(job, out, {}, context);
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(state.iterations() * n * 4);
}

void BM_DequantizeInt8(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<int8_t> q(n);
  for (int64_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(i * 7);
  const std::vector<int64_t> shape{n};
  const QuantParams params{.dtype = DType::kInt8, .scales = {0.03f}};
  const DequantizeJob job =
      *PrepareDequantize({DType::kInt8, shape, std::as_bytes(std::span(q))}, params, DType::kFloat32);
  std::vector<std::byte> out(job.output_bytes);
  for (auto _ : state) {
    benchmark::DoNotOptimize(RunDequantize(job, out));
  }
  state.SetBytesProcessed(state.iterations() * n);
}

// The stream limit for quantize's traffic: read 4 bytes, write 1.
void BM_Stream4To1(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> x = RandomFloats(n);
  std::vector<int8_t> out(n);
  for (auto _ : state) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int8_t>(x[i]);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n * 4);
}

BENCHMARK_CAPTURE(BM_QuantizeInt8, per_tensor_range, Granularity::kPerTensor, false)
    ->ArgsProduct({{1 << 20, 1 << 24}, {0, 1}})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_QuantizeInt8, per_tensor_params, Granularity::kPerTensor, true)
    ->ArgsProduct({{1 << 20, 1 << 24}, {0, 1}})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_QuantizeInt8, per_channel_params, Granularity::kPerChannel, true)
    ->ArgsProduct({{1 << 20, 1 << 24}, {0, 1}})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DequantizeInt8)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Stream4To1)->Arg(1 << 20)->Arg(1 << 24)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace quantd

BENCHMARK_MAIN();
