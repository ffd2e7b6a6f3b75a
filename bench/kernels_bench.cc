// quantd's quantize and dequantize kernels, and the stream loops with the
// same traffic, at 1M/16M/64M elements on one thread and on all. Bytes
// processed count the input: 4 per element to quantize, 1 to dequantize.
#include <span>

#include "bench_util.h"
#include "quantd/dequantize.h"
#include "quantd/quantize.h"
#include "stream_kernels.h"

namespace quantd::bench {
namespace {

void Quantize(benchmark::State& state, Granularity granularity, bool params_given) {
  const int64_t n = state.range(0);
  const std::vector<float>& x = NormalFloats(n);
  const std::vector<int64_t> shape{n / 1024, 1024};
  const TensorView input{DType::kFloat32, shape, std::as_bytes(std::span(x))};
  QuantizeOptions options;
  options.dtype = DType::kInt8;
  options.granularity = granularity;
  if (params_given) {
    const size_t scales = granularity == Granularity::kPerChannel ? shape[0] : 1;
    options.params = QuantParams{.dtype = DType::kInt8, .granularity = granularity,
                                 .scales = std::vector<float>(scales, 0.03f)};
  }
  const QuantizeJob job = *PrepareQuantize(input, options);
  std::vector<std::byte> out(job.output_bytes);
  const auto pool = PoolFor(state.range(1));
  ExecutionContext context;
  context.pool = pool.get();
  for (auto _ : state) benchmark::DoNotOptimize(RunQuantize(job, out, {}, context));
  state.SetBytesProcessed(state.iterations() * n * 4);
}

void Dequantize(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<int8_t> q(n);
  for (int64_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(i * 7);
  const std::vector<int64_t> shape{n};
  const QuantParams params{.dtype = DType::kInt8, .scales = {0.03f}};
  const DequantizeJob job =
      *PrepareDequantize({DType::kInt8, shape, std::as_bytes(std::span(q))}, params, DType::kFloat32);
  std::vector<std::byte> out(job.output_bytes);
  const auto pool = PoolFor(state.range(1));
  ExecutionContext context;
  context.pool = pool.get();
  for (auto _ : state) benchmark::DoNotOptimize(RunDequantize(job, out, context));
  state.SetBytesProcessed(state.iterations() * n);
}

void Stream4To1Bench(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float>& x = NormalFloats(n);
  std::vector<int8_t> out(n);
  const auto pool = PoolFor(state.range(1));
  for (auto _ : state) {
    ForBlocks(pool.get(), n, [&](int64_t b, int64_t e) { Stream4To1(x.data() + b, out.data() + b, e - b); });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n * 4);
}

void Stream1To4Bench(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<int8_t> q(n, 3);
  std::vector<float> out(n);
  const auto pool = PoolFor(state.range(1));
  for (auto _ : state) {
    ForBlocks(pool.get(), n, [&](int64_t b, int64_t e) { Stream1To4(q.data() + b, out.data() + b, e - b); });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n);
}

BENCHMARK(Stream4To1Bench)->Name("stream_4r1w")->Apply(SizesAndThreads);
BENCHMARK(Stream1To4Bench)->Name("stream_1r4w")->Apply(SizesAndThreads);
BENCHMARK_CAPTURE(Quantize, per_tensor_params, Granularity::kPerTensor, true)
    ->Name("quantd/quantize_per_tensor_params")->Apply(SizesAndThreads);
BENCHMARK_CAPTURE(Quantize, per_channel_params, Granularity::kPerChannel, true)
    ->Name("quantd/quantize_per_channel_params")->Apply(SizesAndThreads);
BENCHMARK_CAPTURE(Quantize, per_tensor_range, Granularity::kPerTensor, false)
    ->Name("quantd/quantize_per_tensor_range")->Apply(SizesAndThreads);
BENCHMARK_CAPTURE(Quantize, per_channel_range, Granularity::kPerChannel, false)
    ->Name("quantd/quantize_per_channel_range")->Apply(SizesAndThreads);
BENCHMARK(Dequantize)->Name("quantd/dequantize_per_tensor")->Apply(SizesAndThreads);

}  // namespace
}  // namespace quantd::bench

BENCHMARK_MAIN();
