// Shared set-up for the benchmarks: sizes, thread counts, data, and block
// loops that split work the way quantd does.
#ifndef QUANTD_BENCH_BENCH_UTIL_H_
#define QUANTD_BENCH_BENCH_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
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

// The matmul benchmarks' shapes (M, K, N): a decode step, a small batch,
// a prefill-sized batch against 4096 x 4096 weights, and two squares.
inline constexpr int64_t kMatMulShapes[][3] = {
    {1, 4096, 4096}, {16, 4096, 4096}, {128, 4096, 4096}, {1024, 1024, 1024}, {2048, 2048, 2048}};

// 1 and all threads, once each (once on a machine of one).
inline std::vector<int> ThreadCounts() {
  return AllThreads() > 1 ? std::vector<int>{1, AllThreads()} : std::vector<int>{1};
}

// Arguments M, K, N, threads for every shape and each of `threads`.
inline void MatMulArgs(benchmark::internal::Benchmark* b, const std::vector<int>& threads) {
  for (const auto& s : kMatMulShapes) {
    for (int t : threads) b->Args({s[0], s[1], s[2], t});
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

// An output buffer of `count` T, made once per type and size and shared by
// every benchmark: Google Benchmark runs each benchmark's set-up once per
// repetition, and allocating and clearing a fresh buffer of up to 256 MiB
// each time would take longer than the measurement. Its first touch
// happens here, so page faults stay out of the timings.
template <typename T>
std::span<T> Scratch(int64_t count) {
  static std::map<int64_t, std::vector<T>> cache;
  std::vector<T>& buffer = cache[count];
  if (static_cast<int64_t>(buffer.size()) != count) buffer.assign(count, T{});
  return buffer;
}

// `bytes` bytes of codes, made once per size and shared: any byte is two
// 4-bit codes, and none is an FP8 NaN.
inline std::span<const std::byte> CodeBytes(int64_t bytes) {
  static std::map<int64_t, std::vector<std::byte>> cache;
  std::vector<std::byte>& codes = cache[bytes];
  if (static_cast<int64_t>(codes.size()) != bytes) {
    codes.resize(bytes);
    for (int64_t b = 0; b < bytes; ++b) codes[b] = static_cast<std::byte>(b * 7 % 0x7e);
  }
  return codes;
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
