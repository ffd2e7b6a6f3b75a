// quantd's QuantizedMatMul on the matmul shapes, on one thread and on all
// (the caller and a KernelPool of threads - 1 workers), with the ceilings
// it is measured against in the same run, interleaved with it:
//   quantd/matmul_int8        float A [M, K] quantized on the fly (per row),
//                             B INT8 [N, K] (transpose_b) symmetric per
//                             output channel, FLOAT32 out;
//   quantd/matmul_int4_g128   the same A, B INT4 [N, K] symmetric in groups
//                             of 128 along K (weight-only 4 bits);
//   stream_read               a read-only stream over the bytes of the
//                             weights (INT8 and INT4 of 4096 x 4096): the
//                             limit of a one-row product;
//   vnni_peak/...             the int8 peak (vnni_peak.cc).
// Items are operations, 2 M N K per product. The output is allocated once
// and reused, so page faults stay out of the timings. While RunMatMul
// fails (say, UNIMPLEMENTED), its benchmarks are skipped with its status.
#include <span>
#include <string>

#include "bench_util.h"
#include "quantd/malloc_tuning.h"
#include "quantd/matmul.h"
#include "stream_kernels.h"

namespace quantd::bench {
namespace {

void QuantdMatMul(benchmark::State& state, DType b_dtype, int32_t group_size) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const std::vector<float>& a = NormalFloats(m * k);
  const std::vector<int64_t> a_shape{m, k}, b_shape{n, k};
  const std::span<const std::byte> b = CodeBytes(PackedByteSize(b_dtype, n * k));
  MatMulInputs inputs;
  inputs.a = {DType::kFloat32, a_shape, std::as_bytes(std::span(a))};
  inputs.b = {b_dtype, b_shape, b};
  QuantParams b_params{.dtype = b_dtype, .scheme = Scheme::kSymmetric};
  if (group_size > 0) {
    b_params.granularity = Granularity::kPerGroup;
    b_params.axis = 1;
    b_params.group_size = group_size;
    b_params.scales.assign(n * k / group_size, 0.01f);
  } else {
    b_params.granularity = Granularity::kPerChannel;
    b_params.axis = 0;
    b_params.scales.assign(n, 0.01f);
  }
  inputs.b_params = std::move(b_params);
  MatMulOptions options;
  options.transpose_b = true;
  options.output_dtype = DType::kFloat32;
  const absl::StatusOr<MatMulJob> job = PrepareMatMul(inputs, options);
  if (!job.ok()) {
    state.SkipWithError(std::string(job.status().ToString()).c_str());
    return;
  }
  const std::span<std::byte> out = Scratch<std::byte>(job->output_bytes);
  const auto pool = PoolFor(state.range(3));
  ExecutionContext context;
  context.pool = pool.get();
  // The first run touches the output and starts the pool: not timed.
  if (const auto first = RunMatMul(*job, out, context); !first.ok()) {
    state.SkipWithError(std::string(first.status().ToString()).c_str());
    return;
  }
  for (auto _ : state) {
    const auto result = RunMatMul(*job, out, context);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().ToString()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 2 * m * n * k);
  state.counters["weight_bytes"] = static_cast<double>(b.size());
}

// range(0) bytes, read on range(1) threads in blocks of 64 KiB.
void StreamReadBench(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  const auto* p = reinterpret_cast<const uint8_t*>(CodeBytes(bytes).data());
  const auto pool = PoolFor(state.range(1));
  for (auto _ : state) {
    ForBlocks(pool.get(), bytes, [&](int64_t b, int64_t e) { benchmark::DoNotOptimize(StreamRead(p + b, e - b)); });
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}

void Shapes(benchmark::internal::Benchmark* b) { MatMulArgs(b, ThreadCounts()); }

BENCHMARK_CAPTURE(QuantdMatMul, int8, DType::kInt8, 0)->Name("quantd/matmul_int8")->Apply(Shapes);
BENCHMARK_CAPTURE(QuantdMatMul, int4, DType::kInt4, 128)->Name("quantd/matmul_int4_g128")->Apply(Shapes);
BENCHMARK(StreamReadBench)->Name("stream_read")->Apply([](benchmark::internal::Benchmark* b) {
  for (int64_t bytes : {int64_t{4096} * 4096, int64_t{4096} * 4096 / 2}) {
    for (int threads : ThreadCounts()) b->Args({bytes, threads});
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
});

}  // namespace
}  // namespace quantd::bench

// As quantd's main does: large per-call buffers stay mapped (see
// malloc_tuning.h) instead of being faulted in again on every run.
int main(int argc, char** argv) {
  quantd::TuneMallocForLargeMessages();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
