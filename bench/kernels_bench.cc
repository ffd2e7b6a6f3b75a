// quantd's quantize and dequantize kernels, and the stream loops with the
// same traffic, at 1M/16M/64M elements on one thread and on all. Bytes
// processed count the input: 4 per element to quantize, the code's width
// (1 or 1/2) to dequantize.
#include <span>

#include "bench_util.h"
#include "quantd/dequantize.h"
#include "quantd/malloc_tuning.h"
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
  const std::span<std::byte> out = Scratch<std::byte>(job.output_bytes);
  const auto pool = PoolFor(state.range(1));
  ExecutionContext context;
  context.pool = pool.get();
  for (auto _ : state) benchmark::DoNotOptimize(RunQuantize(job, out, {}, context));
  state.SetBytesProcessed(state.iterations() * n * 4);
}

void Dequantize(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<int64_t> shape{n};
  const QuantParams params{.dtype = DType::kInt8, .scales = {0.03f}};
  const DequantizeJob job =
      *PrepareDequantize({DType::kInt8, shape, CodeBytes(n)}, params, DType::kFloat32);
  const std::span<std::byte> out = Scratch<std::byte>(job.output_bytes);
  const auto pool = PoolFor(state.range(1));
  ExecutionContext context;
  context.pool = pool.get();
  for (auto _ : state) benchmark::DoNotOptimize(RunDequantize(job, out, context));
  state.SetBytesProcessed(state.iterations() * n);
}

// Quantizing to another format with given parameters (the one-pass
// kernel): per tensor, or in groups of `group_size` along the last axis.
void QuantizeFormat(benchmark::State& state, DType dtype, int32_t group_size, float scale) {
  const int64_t n = state.range(0);
  const std::vector<float>& x = NormalFloats(n);
  const std::vector<int64_t> shape{n / 1024, 1024};
  const TensorView input{DType::kFloat32, shape, std::as_bytes(std::span(x))};
  QuantizeOptions options;
  options.params = QuantParams{
      .dtype = dtype,
      .granularity = group_size > 0 ? Granularity::kPerGroup : Granularity::kPerTensor,
      .axis = 1,
      .group_size = group_size,
      .scales = std::vector<float>(group_size > 0 ? n / group_size : 1, scale)};
  const QuantizeJob job = *PrepareQuantize(input, options);
  const std::span<std::byte> out = Scratch<std::byte>(job.output_bytes);
  const auto pool = PoolFor(state.range(1));
  ExecutionContext context;
  context.pool = pool.get();
  for (auto _ : state) benchmark::DoNotOptimize(RunQuantize(job, out, {}, context));
  state.SetBytesProcessed(state.iterations() * n * 4);
}

// Dequantizing another format to FLOAT32, grouped as QuantizeFormat.
void DequantizeFormat(benchmark::State& state, DType dtype, int32_t group_size) {
  const int64_t n = state.range(0);
  const std::vector<int64_t> shape{n / 1024, 1024};
  const std::span<const std::byte> q = CodeBytes(PackedByteSize(dtype, n));
  const QuantParams params{
      .dtype = dtype,
      .granularity = group_size > 0 ? Granularity::kPerGroup : Granularity::kPerTensor,
      .axis = 1,
      .group_size = group_size,
      .scales = std::vector<float>(group_size > 0 ? n / group_size : 1, 0.03f)};
  const DequantizeJob job = *PrepareDequantize({dtype, shape, q}, params, DType::kFloat32);
  const std::span<std::byte> out = Scratch<std::byte>(job.output_bytes);
  const auto pool = PoolFor(state.range(1));
  ExecutionContext context;
  context.pool = pool.get();
  for (auto _ : state) benchmark::DoNotOptimize(RunDequantize(job, out, context));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(q.size()));
}

void Stream4To1Bench(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float>& x = NormalFloats(n);
  const std::span<int8_t> out = Scratch<int8_t>(n);
  const auto pool = PoolFor(state.range(1));
  for (auto _ : state) {
    ForBlocks(pool.get(), n, [&](int64_t b, int64_t e) { Stream4To1(x.data() + b, out.data() + b, e - b); });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n * 4);
}

void Stream1To4Bench(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto* q = reinterpret_cast<const int8_t*>(CodeBytes(n).data());
  const std::span<float> out = Scratch<float>(n);
  const auto pool = PoolFor(state.range(1));
  for (auto _ : state) {
    ForBlocks(pool.get(), n, [&](int64_t b, int64_t e) { Stream1To4(q + b, out.data() + b, e - b); });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n);
}

void Stream4ToHalfBench(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float>& x = NormalFloats(n);
  const std::span<uint8_t> out = Scratch<uint8_t>(n / 2);
  const auto pool = PoolFor(state.range(1));
  for (auto _ : state) {
    ForBlocks(pool.get(), n, [&](int64_t b, int64_t e) {
      Stream4ToHalf(x.data() + b, out.data() + b / 2, e - b);
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n * 4);
}

void StreamHalfTo4Bench(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto* q = reinterpret_cast<const uint8_t*>(CodeBytes(n / 2).data());
  const std::span<float> out = Scratch<float>(n);
  const auto pool = PoolFor(state.range(1));
  for (auto _ : state) {
    ForBlocks(pool.get(), n, [&](int64_t b, int64_t e) {
      StreamHalfTo4(q + b / 2, out.data() + b, e - b);
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * n / 2);
}

BENCHMARK(Stream4To1Bench)->Name("stream_4r1w")->Apply(SizesAndThreads);
BENCHMARK(Stream4ToHalfBench)->Name("stream_4r0.5w")->Apply(SizesAndThreads);
BENCHMARK(StreamHalfTo4Bench)->Name("stream_0.5r4w")->Apply(SizesAndThreads);
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
// Scales that put normal data across each format's range.
BENCHMARK_CAPTURE(QuantizeFormat, int4, DType::kInt4, 128, 0.5f)
    ->Name("quantd/quantize_int4_group128_params")->Apply(SizesAndThreads);
BENCHMARK_CAPTURE(DequantizeFormat, int4, DType::kInt4, 128)
    ->Name("quantd/dequantize_int4_group128")->Apply(SizesAndThreads);
BENCHMARK_CAPTURE(QuantizeFormat, fp8, DType::kFloat8E4M3FN, 0, 1.0f / 64)
    ->Name("quantd/quantize_fp8_e4m3_params")->Apply(SizesAndThreads);
BENCHMARK_CAPTURE(DequantizeFormat, fp8, DType::kFloat8E4M3FN, 0)
    ->Name("quantd/dequantize_fp8_e4m3")->Apply(SizesAndThreads);
BENCHMARK_CAPTURE(QuantizeFormat, nf4, DType::kNF4, 64, 0.25f)
    ->Name("quantd/quantize_nf4_group64_params")->Apply(SizesAndThreads);
BENCHMARK_CAPTURE(DequantizeFormat, nf4, DType::kNF4, 64)
    ->Name("quantd/dequantize_nf4_group64")->Apply(SizesAndThreads);

}  // namespace
}  // namespace quantd::bench

// As quantd's main does: per-group parameters are MiB-sized vectors that
// RunQuantize makes on every call, and glibc would otherwise hand them back
// to the kernel and page-fault them in again each time.
int main(int argc, char** argv) {
  quantd::TuneMallocForLargeMessages();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
