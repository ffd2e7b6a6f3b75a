// oneDNN's reorders with scales, the library's own quantize (f32 -> s8) and
// dequantize (s8 -> f32), on the data and sizes of kernels_bench.cc. oneDNN
// threads with OpenMP: run once per OMP_NUM_THREADS; the thread argument
// records that count.
#include <cstdlib>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench_util.h"

namespace quantd::bench {
namespace {

int OmpThreads() {
  const char* value = std::getenv("OMP_NUM_THREADS");
  return value != nullptr ? std::atoi(value) : AllThreads();
}

void OmpSizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {int64_t{1} << 20, int64_t{1} << 24, int64_t{1} << 26}) b->Args({n, OmpThreads()});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

using dnnl::memory;

// Reorders [n/1024, 1024] from `from` to `to` with output scales (per row
// when per_channel), as quantd does with the reciprocal of its scale.
void Reorder(benchmark::State& state, memory::data_type from, memory::data_type to, bool per_channel) {
  const int64_t n = state.range(0);
  const memory::dims dims{n / 1024, 1024};
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc src_md(dims, from, memory::format_tag::ab);
  const memory::desc dst_md(dims, to, memory::format_tag::ab);
  memory src(src_md, engine), dst(dst_md, engine);
  if (from == memory::data_type::f32) {
    const std::vector<float>& x = NormalFloats(n);
    std::copy(x.begin(), x.end(), static_cast<float*>(src.get_data_handle()));
  } else {
    auto* q = static_cast<int8_t*>(src.get_data_handle());
    for (int64_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(i * 7);
  }
  dnnl::primitive_attr attr;
  const float scale = from == memory::data_type::f32 ? 1 / 0.03f : 0.03f;
  attr.set_output_scales(per_channel ? 1 : 0,
                         std::vector<float>(per_channel ? dims[0] : 1, scale));
  const dnnl::reorder::primitive_desc pd(engine, src_md, engine, dst_md, attr);
  dnnl::reorder reorder(pd);
  for (auto _ : state) {
    reorder.execute(stream, src, dst);
    stream.wait();
  }
  state.SetBytesProcessed(state.iterations() * n * (from == memory::data_type::f32 ? 4 : 1));
}

BENCHMARK_CAPTURE(Reorder, q_tensor, memory::data_type::f32, memory::data_type::s8, false)
    ->Name("onednn/quantize_per_tensor_params")->Apply(OmpSizes);
BENCHMARK_CAPTURE(Reorder, q_channel, memory::data_type::f32, memory::data_type::s8, true)
    ->Name("onednn/quantize_per_channel_params")->Apply(OmpSizes);
BENCHMARK_CAPTURE(Reorder, dq_tensor, memory::data_type::s8, memory::data_type::f32, false)
    ->Name("onednn/dequantize_per_tensor")->Apply(OmpSizes);

}  // namespace
}  // namespace quantd::bench

BENCHMARK_MAIN();
