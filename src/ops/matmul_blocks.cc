// The blocked product (matmul_steps.h). A block is a run of output columns
// and a run of rows: its weights are packed once into the worker's scratch
// (about L2's size), then every tile of rows multiplies them span by span.
// On the direct path (a few rows) the weights are read in place instead.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/element_io.h"
#include "ops/matmul_steps.h"
#include "ops/parallel.h"

namespace quantd {
namespace {

// Columns per block: 128 integer columns of K = 4096 pack into 512 KiB.
int64_t BlockColumns(WeightKind kind) { return kind == WeightKind::kF32 ? 32 : 128; }
// A tile is 16 runs of the 6-row AVX-512 VNNI kernel; a block's four tiles
// share one packing of its columns (measured best of 32/256, 48/240,
// 48/288 and 96/384 at 2048^3 and 128 x 4096 x 4096).
constexpr int64_t kBlockRows = 384;
constexpr int64_t kTileRows = 96;

// One worker's buffers, reused from block to block.
struct Scratch {
  std::vector<std::byte> packed;
  std::vector<float> packed_floats;
  std::vector<int32_t> column_sums;  // [span][column]
  std::vector<double> col_sum;  // [span][column]
  std::vector<double> outlier_rows;  // [outlier][column]
  std::vector<int32_t> d;
  std::vector<float> y_float;
  std::vector<double> y;
  std::vector<double> bias;  // The block's columns; empty without a bias.
  std::vector<float> row;    // One output row of the block, in float32.
  std::vector<RowsSpan> rows_spans;  // The direct path's spans for one tile.
};

struct Block {
  int64_t n0 = 0, columns = 0, panels = 0;
  int64_t m0 = 0, rows = 0;
};

// Each span's weight sums for the block's columns, as the epilogue takes
// them (float64).
void GatherColumnSums(const WeightOperand& w, const Block& block, Scratch* s) {
  const int64_t width = block.panels * kPanelColumns;
  s->col_sum.resize(w.spans.size() * width);
  for (size_t i = 0; i < s->col_sum.size(); ++i) s->col_sum[i] = s->column_sums[i];
}

void PackIntegerWeights(const WeightOperand& w, const Block& block, const GemmKernels& kernels,
                        Scratch* s) {
  const int64_t width = block.panels * kPanelColumns;
  const size_t spans = w.spans.size();
  s->packed.resize(block.panels * w.panel_bytes);
  s->column_sums.assign(spans * width, 0);
  for (size_t i = 0; i < spans; ++i) {
    const KSpan& span = w.spans[i];
    PackArgs args;
    args.src = w.b.data.data();
    args.k_contiguous = w.k_contiguous;
    args.k_total = w.k;
    args.n_total = w.n;
    args.k_begin = span.k_begin;
    args.k_count = span.k_count;
    args.n_begin = block.n0;
    args.panels = block.panels;
    args.xor_mask = w.xor_mask;
    args.dst = s->packed.data() + span.packed_offset;
    args.panel_stride = w.panel_bytes;
    args.col_sums = s->column_sums.data() + i * width;
    (w.kind == WeightKind::kS8 ? kernels.pack_s8 : kernels.pack_u4)(args);
  }
}

// NF4: the block's weights dequantized into F32 panels.
void PackFloatWeights(const WeightOperand& w, const Block& block, Scratch* s) {
  s->packed_floats.assign(block.panels * w.panel_bytes, 0.0f);
  for (int64_t j = 0; j < block.columns; ++j) {
    float* panel = s->packed_floats.data() + (j / kPanelColumns) * w.panel_bytes;
    for (int64_t k = 0; k < w.k; ++k) {
      panel[k * kPanelColumns + j % kPanelColumns] = static_cast<float>(w.Value(k, block.n0 + j));
    }
  }
}

// The weights' rows of the outlier columns, as the float64 product uses them.
void GatherOutlierRows(const WeightOperand& w, const Block& block,
                       const std::vector<int64_t>& outliers, Scratch* s) {
  s->outlier_rows.resize(outliers.size() * block.columns);
  for (size_t o = 0; o < outliers.size(); ++o) {
    for (int64_t j = 0; j < block.columns; ++j) {
      s->outlier_rows[o * block.columns + j] = w.Value(outliers[o], block.n0 + j);
    }
  }
}

void GatherBias(const MatMulJob& job, const Block& block, Scratch* s) {
  s->bias.clear();
  const std::optional<TensorView>& bias = job.inputs.bias;
  if (!bias) return;
  for (int64_t j = 0; j < block.columns; ++j) {
    s->bias.push_back(LoadFloatElement(bias->dtype, bias->data.data(), block.n0 + j));
  }
}

// The epilogue of span i over the tile's dot products.
void AddSpan(const WeightOperand& w, const ActivationOperand& act, const Block& block, size_t i,
             int64_t m, int64_t rows, int64_t m_total, const GemmKernels& kernels, Scratch* s) {
  const int64_t width = block.panels * kPanelColumns;
  GemmEpilogue e;
  e.d = s->d.data();
  e.ldd = width;
  e.rows = rows;
  e.columns = block.columns;
  e.row_scale = act.row_scale.data() + m;
  e.row_zero = act.row_zero.data() + m;
  e.row_term = act.row_term.data() + i * m_total + m;
  // Scales and zero points are stored [group][column]: the block's columns
  // of a span's group are contiguous.
  const int64_t group = w.spans[i].group;
  e.col_scale = w.scales.data() + group * w.n + block.n0;
  e.col_sum = s->col_sum.data() + i * width;
  e.col_zero = w.zero_points.empty()
                   ? nullptr
                   : w.zero_points.data() + group * w.zero_group_stride + block.n0;
  e.y = s->y.data();
  e.ldy = width;
  e.accumulate = i > 0;  // The first span sets the tile's sums.
  kernels.epilogue(e);
}

// The direct path: the weights' rows straight from their source, every
// span in one kernel call.
void MultiplyDirectTile(const WeightOperand& w, const ActivationOperand& act, const Block& block,
                        int64_t m, int64_t rows, int64_t m_total, const GemmKernels& kernels,
                        Scratch* s) {
  const bool s8 = w.kind == WeightKind::kS8;
  const int64_t row_bytes = s8 ? w.k : w.k / 2;
  s->rows_spans.resize(w.spans.size());
  for (size_t i = 0; i < w.spans.size(); ++i) {
    const KSpan& span = w.spans[i];
    RowsSpan& r = s->rows_spans[i];
    r.k = span.k_count;
    r.a_offset = span.a_offset;
    r.w_offset = s8 ? span.k_begin : span.k_begin / 2;
    // The parameters as given, where the span's group and the block's
    // first column have them.
    const int64_t first = span.group * w.param_group_stride + block.n0 * w.param_column_stride;
    r.col_scale = w.given_scales.data() + first;
    if (!w.given_zero_points.empty()) r.col_zero = w.given_zero_points.data() + first;
    r.row_term = act.row_term.data() + i * m_total + m;
  }
  RowsProduct p;
  p.a = act.bytes.data() + m * act.lda;
  p.lda = act.lda;
  p.w = w.b.data.data() + block.n0 * row_bytes;
  p.ldw = row_bytes;
  p.xor_mask = w.xor_mask;
  p.col_scale_stride = w.param_column_stride;
  p.col_zero_stride = w.param_column_stride;
  p.has_zero_points = !w.given_zero_points.empty();
  p.zero_shift = w.zero_shift;
  p.spans = s->rows_spans.data();
  p.span_count = static_cast<int64_t>(s->rows_spans.size());
  p.row_scale = act.row_scale.data() + m;
  p.y = s->y.data();
  p.ldy = block.panels * kPanelColumns;
  p.rows = rows;
  p.columns = block.columns;
  (s8 ? kernels.rows_product_s8 : kernels.rows_product_u4)(p);
}

void MultiplyIntegerTile(const WeightOperand& w, const ActivationOperand& act, const Block& block,
                         int64_t m, int64_t rows, int64_t m_total, const GemmKernels& kernels,
                         Scratch* s) {
  const int64_t width = block.panels * kPanelColumns;
  const DotS8Fn dot = w.kind == WeightKind::kS8 ? kernels.dot_s8 : kernels.dot_u4;
  for (size_t i = 0; i < w.spans.size(); ++i) {
    const KSpan& span = w.spans[i];
    GemmTile tile;
    tile.a = act.bytes.data() + m * act.lda + span.a_offset;
    tile.lda = act.lda;
    tile.b = s->packed.data() + span.packed_offset;
    tile.panel_stride = w.panel_bytes;
    tile.steps = span.steps;
    tile.d = s->d.data();
    tile.ldd = width;
    tile.rows = rows;
    tile.panels = block.panels;
    dot(tile);
    AddSpan(w, act, block, i, m, rows, m_total, kernels, s);
  }
}

void MultiplyFloatTile(const WeightOperand& w, const ActivationOperand& act, const Block& block,
                       int64_t m, int64_t rows, const GemmKernels& kernels, Scratch* s) {
  const int64_t width = block.panels * kPanelColumns;
  GemmTileF32 tile;
  tile.a = act.floats.data() + m * act.lda;
  tile.lda = act.lda;
  tile.b = s->packed_floats.data();
  tile.panel_stride = w.panel_bytes;
  tile.k = w.k;
  tile.y = s->y_float.data();
  tile.ldy = width;
  tile.rows = rows;
  tile.panels = block.panels;
  kernels.dot_f32(tile);
  for (int64_t i = 0; i < rows * width; ++i) s->y[i] = s->y_float[i];
}

// Adds the outlier columns and the bias, and rounds into the output.
void FinishTile(const MatMulJob& job, const ActivationOperand& act, const Block& block, int64_t m,
                int64_t rows, const std::vector<int64_t>& outliers, Scratch* s,
                std::span<std::byte> output) {
  const int64_t width = block.panels * kPanelColumns;
  const DType out = job.options.output_dtype;
  for (int64_t r = 0; r < rows; ++r) {
    double* y = s->y.data() + r * width;
    for (size_t o = 0; o < outliers.size(); ++o) {
      const double a = act.Value(m + r, outliers[o]);
      const double* b = s->outlier_rows.data() + o * block.columns;
      for (int64_t j = 0; j < block.columns; ++j) y[j] += a * b[j];
    }
    if (!s->bias.empty()) {
      for (int64_t j = 0; j < block.columns; ++j) y[j] += s->bias[j];
    }
    const int64_t first = (m + r) * job.n + block.n0;
    if (out == DType::kFloat32) {
      // The common output in a loop the compiler vectorizes.
      float* dst = s->row.data();
      for (int64_t j = 0; j < block.columns; ++j) dst[j] = static_cast<float>(y[j]);
      std::memcpy(output.data() + 4 * first, dst, 4 * block.columns);
    } else {
      for (int64_t j = 0; j < block.columns; ++j) {
        StoreFloatElement(out, output.data(), first + j, static_cast<float>(y[j]));
      }
    }
  }
}

}  // namespace

absl::Status MultiplyBlocks(const MatMulJob& job, const WeightOperand& weights,
                            const ActivationOperand& activations,
                            const std::vector<int64_t>& outliers, const GemmKernels& kernels,
                            std::span<std::byte> output, const ExecutionContext& context) {
  const int64_t block_columns = BlockColumns(weights.kind);
  const int64_t column_blocks = (job.n + block_columns - 1) / block_columns;
  const int64_t row_blocks = (job.m + kBlockRows - 1) / kBlockRows;
  std::vector<Scratch> scratch(WorkerCount(context));
  // Outliers run in float64 beside the integer product; the float path
  // multiplies every column in float already.
  const bool separate_outliers = weights.kind != WeightKind::kF32 && !outliers.empty();
  const std::vector<int64_t> none;
  const std::vector<int64_t>& float_columns = separate_outliers ? outliers : none;
  return RunBlocks(context, column_blocks * row_blocks, [&](int64_t index, int worker) {
    Scratch& s = scratch[worker];
    Block block;
    block.n0 = (index / row_blocks) * block_columns;
    block.columns = std::min(block_columns, job.n - block.n0);
    block.panels = (block.columns + kPanelColumns - 1) / kPanelColumns;
    block.m0 = (index % row_blocks) * kBlockRows;
    block.rows = std::min(kBlockRows, job.m - block.m0);
    if (weights.kind == WeightKind::kF32) {
      PackFloatWeights(weights, block, &s);
    } else if (!weights.direct) {
      PackIntegerWeights(weights, block, kernels, &s);
      GatherColumnSums(weights, block, &s);
    }
    if (separate_outliers) GatherOutlierRows(weights, block, outliers, &s);
    GatherBias(job, block, &s);
    // Each path's buffers for the block's largest tile (a vector grows,
    // zero-filled, once per call and worker: only the sizes used).
    const int64_t width = block.panels * kPanelColumns;
    const int64_t tile_size = std::min(kTileRows, block.rows) * width;
    if (weights.kind == WeightKind::kF32) {
      s.y_float.resize(tile_size);
    } else if (!weights.direct) {
      s.d.resize(tile_size);
    }
    s.y.resize(tile_size);
    s.row.resize(width);
    for (int64_t m = block.m0; m < block.m0 + block.rows; m += kTileRows) {
      const int64_t rows = std::min(kTileRows, block.m0 + block.rows - m);
      // The first span's epilogue or the float path sets every sum; only
      // a product without spans (K = 0) adds nothing to zero.
      if (weights.spans.empty() && weights.kind != WeightKind::kF32) {
        std::fill(s.y.begin(), s.y.begin() + rows * width, 0.0);
      }
      if (weights.kind == WeightKind::kF32) {
        MultiplyFloatTile(weights, activations, block, m, rows, kernels, &s);
      } else if (weights.direct) {
        MultiplyDirectTile(weights, activations, block, m, rows, job.m, kernels, &s);
      } else {
        MultiplyIntegerTile(weights, activations, block, m, rows, job.m, kernels, &s);
      }
      FinishTile(job, activations, block, m, rows, float_columns, &s, output);
    }
  });
}

}  // namespace quantd
