// Shared set-up for the benchmarks: sizes, thread counts, data, and block
// loops that split work the way quantd does.
#ifndef QUANTD_BENCH_BENCH_UTIL_H_
#define QUANTD_BENCH_BENCH_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "quantd/kernel_pool.h"

namespace quantd::bench {

inline int AllThreads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

// Arguments: elements (1M, 16M, 64M) x threads (1, all).
inline void SizesAndThreads(benchmark::internal::Benchmark* b) {
  for (int64_t n : {int64_t{1} << 20, int64_t{1} << 24, int64_t{1} << 26}) {
    for (int threads : {1, AllThreads()}) b->Args({n, threads});
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

// Normal floats, made once per size and shared by every benchmark (making
// 64M of them costs more than the benchmarks).
inline const std::vector<float>& NormalFloats(int64_t n) {
  static std::map<int64_t, std::vector<float>> cache;
  std::vector<float>& x = cache[n];
  if (x.empty() && n > 0) {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    x.resize(n);
    for (float& v : x) v = normal(rng);
  }
  return x;
}

// A pool with threads - 1 helpers (the caller is the other), or none.
inline std::unique_ptr<KernelPool> PoolFor(int threads) {
  return threads > 1 ? std::make_unique<KernelPool>(threads - 1, 16) : nullptr;
}

// fn(begin, end) over blocks of 64K elements, on the pool when there is one.
inline void ForBlocks(KernelPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  constexpr int64_t kBlock = int64_t{1} << 16;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  auto run = [&](int64_t b, int) { fn(b * kBlock, std::min(n, (b + 1) * kBlock)); };
  if (pool != nullptr) {
    pool->ParallelFor(blocks, run);
  } else {
    for (int64_t b = 0; b < blocks; ++b) run(b, 0);
  }
}

}  // namespace quantd::bench

#endif  // QUANTD_BENCH_BENCH_UTIL_H_
