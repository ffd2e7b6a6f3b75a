// oneDNN's matmul primitive on the shapes of matmul_bench.cc: u8 (src) x s8
// (weights) -> s32, and f32 x f32 -> f32. The weights take the layout the
// primitive asks for (format_tag::any) and are reordered into it once,
// before the timing: oneDNN at its best, as a model's weights would be
// prepared at load time. Rates are operations per second, 2 M N K per run.
// oneDNN threads with OpenMP: run once per OMP_NUM_THREADS; the thread
// argument records that count. The label is oneDNN's implementation.
#include <cstdlib>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench_util.h"

namespace quantd::bench {
namespace {

int OmpThreads() {
  const char* value = std::getenv("OMP_NUM_THREADS");
  return value != nullptr ? std::atoi(value) : AllThreads();
}

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

template <typename T>
void Fill(const memory& m, int64_t count, int mod, int offset) {
  auto* p = static_cast<T*>(m.get_data_handle());
  for (int64_t i = 0; i < count; ++i) p[i] = static_cast<T>(static_cast<int>(i * 7 % mod) - offset);
}

void MatMul(benchmark::State& state, dt src_type, dt weights_type, dt dst_type) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc src_md({m, k}, src_type, tag::ab);
  const memory::desc dst_md({m, n}, dst_type, tag::ab);
  // The weights as quantd gets them, [N, K] row-major: (K, N) with ba.
  const memory::desc user_weights_md({k, n}, weights_type, tag::ba);
  const memory::desc any_weights_md({k, n}, weights_type, tag::any);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, any_weights_md, dst_md), engine);
  memory src(src_md, engine), user_weights(user_weights_md, engine), dst(dst_md, engine);
  memory weights(pd.weights_desc(), engine);
  if (src_type == dt::u8) {
    Fill<uint8_t>(src, m * k, 251, 0);
    Fill<int8_t>(user_weights, k * n, 255, 127);
  } else {
    const std::vector<float>& x = NormalFloats(m * k + k * n);
    std::copy(x.begin(), x.begin() + m * k, static_cast<float*>(src.get_data_handle()));
    std::copy(x.begin() + m * k, x.end(), static_cast<float*>(user_weights.get_data_handle()));
  }
  dnnl::reorder(user_weights, weights).execute(stream, user_weights, weights);
  const dnnl::matmul matmul(pd);
  const std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  // The first run touches the output and the scratchpad: not timed.
  matmul.execute(stream, args);
  stream.wait();
  for (auto _ : state) {
    matmul.execute(stream, args);
    stream.wait();
  }
  state.SetItemsProcessed(state.iterations() * 2 * m * n * k);
  state.SetLabel(pd.impl_info_str());
}

void OmpShapes(benchmark::internal::Benchmark* b) { MatMulArgs(b, {OmpThreads()}); }

BENCHMARK_CAPTURE(MatMul, u8s8s32, dt::u8, dt::s8, dt::s32)
    ->Name("onednn/matmul_u8s8s32")->Apply(OmpShapes);
BENCHMARK_CAPTURE(MatMul, f32, dt::f32, dt::f32, dt::f32)
    ->Name("onednn/matmul_f32")->Apply(OmpShapes);

}  // namespace
}  // namespace quantd::bench

BENCHMARK_MAIN();
