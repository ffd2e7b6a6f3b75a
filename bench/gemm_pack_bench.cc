// Packing the weights of a 4096 x 4096 matrix multiplication as the caller
// does: one group of 16 panels (256 columns, the whole K) per call into the
// same buffer, on one thread, against memcpy of the same source bytes in
// the same pieces. Bytes processed count the source read: 16 MB of INT8,
// 8 MB of INT4.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/gemm.h"

namespace quantd::bench {
namespace {

constexpr int64_t kK = 4096, kN = 4096, kGroupPanels = 16;

const std::vector<std::byte>& Weights() {
  static const std::vector<std::byte> weights = [] {
    std::vector<std::byte> w(kK * kN);
    std::mt19937 rng(1);
    for (auto& b : w) b = static_cast<std::byte>(rng());
    return w;
  }();
  return weights;
}

const GemmKernels* Table(int64_t which) {
  switch (which) {
    case 0:
      return &GemmKernelsReference();
    case 1:
      return GemmKernelsAvx2();
    default:
      return GemmKernelsAvx512();
  }
}

// range(0): table (0 scalar, 1 avx2, 2 avx512); range(1): 1 with column
// sums; range(2): 1 for a [N, K] source, 0 for [K, N].
void Pack(benchmark::State& state, bool u4) {
  const GemmKernels* table = Table(state.range(0));
  if (table == nullptr) {
    state.SkipWithError("not on this CPU");
    return;
  }
  const bool sums = state.range(1) != 0, k_contiguous = state.range(2) != 0;
  const int64_t stride = kK / (u4 ? 8 : 4) * kPanelStepBytes;
  std::vector<std::byte> dst(kGroupPanels * stride);
  std::vector<int32_t> col_sums(kGroupPanels * kPanelColumns);
  PackArgs args{.src = Weights().data(),
                .k_contiguous = k_contiguous,
                .k_total = kK,
                .n_total = kN,
                .k_begin = 0,
                .k_count = kK,
                .panels = kGroupPanels,
                .xor_mask = uint8_t(u4 ? 0x8 : 0),
                .dst = dst.data(),
                .panel_stride = stride,
                .col_sums = sums ? col_sums.data() : nullptr};
  for (auto _ : state) {
    for (int64_t n = 0; n < kN; n += kGroupPanels * kPanelColumns) {
      args.n_begin = n;
      (u4 ? table->pack_u4 : table->pack_s8)(args);
      benchmark::ClobberMemory();
    }
  }
  state.SetBytesProcessed(state.iterations() * kK * kN / (u4 ? 2 : 1));
}

// The same source bytes in the same pieces (256 rows of an [N, K] matrix).
void Memcpy(benchmark::State& state, bool u4) {
  const int64_t total = kK * kN / (u4 ? 2 : 1), piece = total / (kN / (kGroupPanels * kPanelColumns));
  std::vector<std::byte> dst(piece);
  for (auto _ : state) {
    for (int64_t offset = 0; offset < total; offset += piece) {
      std::memcpy(dst.data(), Weights().data() + offset, piece);
      benchmark::ClobberMemory();
    }
  }
  state.SetBytesProcessed(state.iterations() * total);
}

void PackArgsList(benchmark::internal::Benchmark* b) {
  for (int64_t table : {0, 1, 2}) {
    for (int64_t sums : {0, 1}) {
      for (int64_t k_contiguous : {1, 0}) b->Args({table, sums, k_contiguous});
    }
  }
  b->ArgNames({"table", "sums", "nk"})->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(Pack, S8, false)->Apply(PackArgsList);
BENCHMARK_CAPTURE(Pack, U4, true)->Apply(PackArgsList);
BENCHMARK_CAPTURE(Memcpy, S8, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Memcpy, U4, true)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace quantd::bench

BENCHMARK_MAIN();
