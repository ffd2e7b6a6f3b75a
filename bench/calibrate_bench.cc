// Histogram calibration (2048 bins) over 64M values in 16 batches of 4M,
// the batches' scales growing so that the histograms must grow too, on one
// thread and on all; and a read-only stream over the same bytes, the limit
// of a one-pass observer.
#include <span>

#include "bench_util.h"
#include "quantd/calibrate.h"

namespace quantd::bench {
namespace {

constexpr int64_t kBatch = int64_t{1} << 22;
constexpr int kBatches = 16;

// 16 batches of normal floats, batch b scaled by 1 + b / 4.
const std::vector<float>& Batches() {
  static const std::vector<float>* data = [] {
    auto* v = new std::vector<float>(NormalFloats(kBatch * kBatches));
    for (int b = 0; b < kBatches; ++b) {
      for (int64_t i = 0; i < kBatch; ++i) (*v)[b * kBatch + i] *= 1.0f + b / 4.0f;
    }
    return v;
  }();
  return *data;
}

void Calibrate(benchmark::State& state, RangeMethod method) {
  const std::vector<float>& x = Batches();
  const std::vector<int64_t> shape{kBatch};
  const auto pool = PoolFor(state.range(1));
  ExecutionContext context;
  context.pool = pool.get();
  CalibrateOptions options;
  options.method = method;
  options.dtype = DType::kInt8;
  for (auto _ : state) {
    Calibrator c = *Calibrator::Create(options);
    for (int b = 0; b < kBatches; ++b) {
      const TensorView batch{DType::kFloat32, shape,
                             std::as_bytes(std::span(x.data() + b * kBatch, kBatch))};
      benchmark::DoNotOptimize(c.AddBatch(batch, b, context));
    }
    benchmark::DoNotOptimize(c.Finish());
  }
  state.SetBytesProcessed(state.iterations() * kBatch * kBatches * 4);
}

void StreamRead(benchmark::State& state) {
  const std::vector<float>& x = Batches();
  const int64_t n = kBatch * kBatches;
  const auto pool = PoolFor(state.range(1));
  std::vector<float> sums(AllThreads() + 1);
  for (auto _ : state) {
    ForBlocks(pool.get(), n, [&](int64_t b, int64_t e) {
      // Eight independent sums, so the loop is bound by loads, not adds.
      float s[8] = {};
      for (int64_t i = b; i + 8 <= e; i += 8) {
        for (int k = 0; k < 8; ++k) s[k] += x[i + k];
      }
      benchmark::DoNotOptimize(s);
    });
  }
  state.SetBytesProcessed(state.iterations() * n * 4);
}

void Threads(benchmark::internal::Benchmark* b) {
  for (int threads : {1, AllThreads()}) b->Args({kBatch * kBatches, threads});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(Calibrate, quantd/calibrate_entropy, RangeMethod::kEntropy)->Apply(Threads);
BENCHMARK_CAPTURE(Calibrate, quantd/calibrate_minmax, RangeMethod::kMinMax)->Apply(Threads);
BENCHMARK(StreamRead)->Name("stream_read")->Apply(Threads);

}  // namespace
}  // namespace quantd::bench

BENCHMARK_MAIN();
