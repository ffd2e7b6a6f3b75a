// Turning a matmul's inputs into the kernels' operands (matmul_operands.h).
#include "ops/matmul_operands.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "formats/element_format.h"
#include "formats/element_io.h"
#include "formats/packing.h"
#include "kernels/gemm.h"
#include "ops/parallel.h"
#include "ops/slot_statistics.h"
#include "quantd/quantize.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

// The messages of the Quantize an operand runs name its input "input":
// name the operand instead.
absl::Status Named(absl::string_view field, const absl::Status& status) {
  if (status.ok() || status.code() != absl::StatusCode::kInvalidArgument) return status;
  absl::string_view message = status.message();
  if (absl::ConsumePrefix(&message, "input")) {
    return absl::InvalidArgumentError(absl::StrCat(field, message));
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

// Symmetric INT8 with the absmax range along `axis`: the on-the-fly
// quantization of float operands.
absl::StatusOr<QuantizedTensor> QuantizeRows(const TensorView& x, int32_t axis,
                                             absl::string_view field,
                                             const ExecutionContext& context) {
  QuantizeOptions options;
  options.dtype = DType::kInt8;
  options.scheme = Scheme::kSymmetric;
  options.granularity = Granularity::kPerChannel;
  options.axis = axis;
  options.range_method = RangeMethod::kAbsMax;
  options.rounding = Rounding::kHalfToEven;
  auto quantized = Quantize(x, options, context);
  if (!quantized.ok()) return Named(field, quantized.status());
  return quantized;
}

// The integer level of a code of an integer or NF4 format.
double Level(DType dtype, uint32_t code) {
  switch (dtype) {
    case DType::kInt8: return static_cast<int8_t>(code);
    case DType::kInt4: return static_cast<int32_t>((code ^ 0x8) & 0xF) - 8;
    case DType::kNF4: return kNF4Levels[code & 0xF];
    default: return code;  // UINT8, UINT4.
  }
}

// A dequantized element, in float32 like Dequantize: (level − zero) · scale.
double Dequantized(DType dtype, const std::byte* data, int64_t i, float scale, int32_t zero) {
  const double level = Level(dtype, LoadCode(DTypeBits(dtype), data, i));
  return static_cast<float>(static_cast<float>(level - zero) * scale);
}

// Index of B's element (k, n) in its own layout.
int64_t WeightIndex(const WeightOperand& w, int64_t k, int64_t n) {
  return w.k_contiguous ? n * w.k + k : k * w.n + n;
}

// The spans, and where each starts in a packed panel and in an activation
// row: packed rows pad each span to whole steps; direct S8 rows are A's
// own; direct U4 rows pad each span to whole blocks of kRowsBlockK.
void SplitIntoSpans(WeightOperand* w) {
  const int64_t step = w->kind == WeightKind::kS8 ? 4 : 8;
  int64_t packed = 0, a_offset = 0;
  for (int64_t begin = 0; begin < w->k; begin += w->group_size) {
    const int64_t group_end = std::min(w->k, begin + w->group_size);
    for (int64_t s = begin; s < group_end; s += kMaxExactSpan) {
      KSpan span{s, std::min(kMaxExactSpan, group_end - s), begin / w->group_size};
      span.steps = (span.k_count + step - 1) / step;
      span.packed_offset = packed;
      span.a_offset = a_offset;
      packed += span.steps * kPanelStepBytes;
      if (!w->direct) {
        a_offset += span.steps * step;
      } else if (w->kind == WeightKind::kS8) {
        a_offset += span.k_count;
      } else {
        a_offset += (span.k_count + kRowsBlockK - 1) / kRowsBlockK * kRowsBlockK;
      }
      w->spans.push_back(span);
    }
  }
  w->panel_bytes = packed;
  w->activation_bytes = a_offset;
}

}  // namespace

double WeightOperand::Value(int64_t k_index, int64_t n_index) const {
  const int64_t i = WeightIndex(*this, k_index, n_index);
  if (IsFloatInputDType(original.dtype)) return LoadFloatElement(original.dtype, original.data.data(), i);
  const int64_t slot = layout.SlotOf(i);
  return Dequantized(original.dtype, original.data.data(), i, given_scales[slot],
                     given_zero_points.empty() ? 0 : given_zero_points[slot]);
}

double ActivationOperand::Value(int64_t m, int64_t k) const {
  const int64_t i = m * original.shape[1] + k;
  if (IsFloatInputDType(original.dtype)) return LoadFloatElement(original.dtype, original.data.data(), i);
  const int64_t slot = given_scales.size() == 1 ? 0 : m;
  return Dequantized(original.dtype, original.data.data(), i, given_scales[slot],
                     given_zero_points.empty() ? 0 : given_zero_points[slot]);
}

// The packed path's parameters per (group, column) in float64. This runs
// over every parameter on every call: plain indexed loops, and one row of
// zero points for all groups when they are all the same.
void GatherPackedParams(WeightOperand* w) {
  const int64_t groups = w->k == 0 ? 0 : (w->k + w->group_size - 1) / w->group_size;
  w->scales.resize(groups * w->n);
  for (int64_t g = 0; g < groups; ++g) {
    double* row = w->scales.data() + g * w->n;
    const float* given = w->given_scales.data() + g * w->param_group_stride;
    for (int64_t n = 0; n < w->n; ++n) row[n] = given[n * w->param_column_stride];
  }
  if (w->given_zero_points.empty()) {
    if (w->zero_shift != 0) w->zero_points.assign(w->n, w->zero_shift);
    w->zero_group_stride = 0;
    return;
  }
  w->zero_points.resize(groups * w->n);
  for (int64_t g = 0; g < groups; ++g) {
    double* row = w->zero_points.data() + g * w->n;
    const int32_t* given = w->given_zero_points.data() + g * w->param_group_stride;
    for (int64_t n = 0; n < w->n; ++n) row[n] = given[n * w->param_column_stride] + w->zero_shift;
  }
  w->zero_group_stride = w->n;
}

absl::StatusOr<WeightOperand> PrepareWeights(const MatMulJob& job, bool direct,
                                             const ExecutionContext& context) {
  WeightOperand w;
  const TensorView& b = job.inputs.b;
  w.original = b;
  w.k_contiguous = job.options.transpose_b;
  w.k = job.k;
  w.n = job.n;
  w.group_size = std::max<int64_t>(job.k, 1);
  if (IsFloatInputDType(b.dtype)) {
    QUANTD_ASSIGN_OR_RETURN(QuantizedTensor q,
                            QuantizeRows(b, w.k_contiguous ? 0 : 1, "b", context));
    w.quantized = std::move(q.data);
    w.quantized_scales = std::move(q.result.params.scales);
    w.b = TensorView{DType::kInt8, b.shape, w.quantized};
    w.kind = WeightKind::kS8;
    w.given_scales = w.quantized_scales;
    w.param_column_stride = 1;
    w.direct = direct && w.k_contiguous;
    if (w.direct) w.xor_mask = 0x80, w.zero_shift = 128;
    SplitIntoSpans(&w);
    if (!w.direct) GatherPackedParams(&w);
    return w;
  }

  const QuantParams& params = *job.inputs.b_params;
  w.b = b;
  w.given_scales = params.scales;
  w.given_zero_points = params.zero_points;
  w.layout = job.b_layout;
  if (params.granularity == Granularity::kPerGroup) w.group_size = params.group_size;
  // The direct path reads the [N, K] source in place, whole bytes at a
  // time for 4-bit weights, so it needs even group starts.
  w.direct = direct && w.k_contiguous &&
             (b.dtype == DType::kInt8 || b.dtype == DType::kUInt8 ||
              ((b.dtype == DType::kInt4 || b.dtype == DType::kUInt4) && w.k % 2 == 0 &&
               w.group_size % 2 == 0));
  // The kernels' weight is b + zero_shift: packed weights are signed bytes
  // or unsigned nibbles, direct ones unsigned bytes or nibbles.
  switch (b.dtype) {
    case DType::kInt8:
      w.kind = WeightKind::kS8;
      if (w.direct) w.xor_mask = 0x80, w.zero_shift = 128;
      break;
    case DType::kUInt8:
      w.kind = WeightKind::kS8;
      if (!w.direct) w.xor_mask = 0x80, w.zero_shift = -128;
      break;
    case DType::kInt4:
      w.kind = WeightKind::kU4;
      w.xor_mask = w.direct ? 0x88 : 0x8;  // Direct: both nibbles of a byte.
      w.zero_shift = 8;
      break;
    case DType::kUInt4: w.kind = WeightKind::kU4; break;
    default: w.kind = WeightKind::kF32; w.direct = false; break;  // NF4.
  }
  if (w.kind == WeightKind::kF32) {
    w.panel_bytes = job.k * kPanelColumns;
    return w;
  }
  // API.md's order: row-major over the shape with the grouped axis
  // replaced by its groups.
  const int64_t groups = w.k == 0 ? 0 : (w.k + w.group_size - 1) / w.group_size;
  const bool per_group = params.granularity == Granularity::kPerGroup;
  const bool per_column = params.granularity != Granularity::kPerTensor;
  w.param_column_stride = !per_column ? 0 : !per_group ? 1 : w.k_contiguous ? groups : 1;
  w.param_group_stride = !per_group ? 0 : w.k_contiguous ? 1 : w.n;
  SplitIntoSpans(&w);
  if (!w.direct) GatherPackedParams(&w);
  return w;
}

absl::Status NonFiniteElement(const TensorView& t, absl::string_view field, int64_t i) {
  FirstNonFinite bad(i + 1);
  bad.Note(i);
  return bad.Error(FloatSource{t.dtype, t.data.data()}, absl::StrCat(field, ".data"));
}

absl::StatusOr<std::vector<int64_t>> FindOutlierColumns(const MatMulJob& job) {
  std::vector<int64_t> columns;
  const float threshold = job.options.outlier_threshold;
  const TensorView& a = job.inputs.a;
  if (threshold <= 0 || !IsFloatInputDType(a.dtype)) return columns;
  std::vector<bool> outlier(job.k, false);
  for (int64_t m = 0; m < job.m; ++m) {
    for (int64_t k = 0; k < job.k; ++k) {
      const double x = LoadFloatElement(a.dtype, a.data.data(), m * job.k + k);
      if (!std::isfinite(static_cast<float>(x))) return NonFiniteElement(a, "a", m * job.k + k);
      if (std::fabs(x) >= threshold) outlier[k] = true;
    }
  }
  for (int64_t k = 0; k < job.k; ++k) {
    if (outlier[k]) columns.push_back(k);
  }
  return columns;
}

namespace {

// A float A in float32 rows, outlier columns zeroed (they run in float64).
std::vector<float> WithoutOutliers(const TensorView& a, int64_t m_count, int64_t k_count,
                                   const std::vector<int64_t>& outliers) {
  std::vector<float> rows(m_count * k_count);
  for (int64_t i = 0; i < m_count * k_count; ++i) {
    rows[i] = static_cast<float>(LoadFloatElement(a.dtype, a.data.data(), i));
  }
  for (int64_t m = 0; m < m_count; ++m) {
    for (int64_t k : outliers) rows[m * k_count + k] = 0;
  }
  return rows;
}

// Where the r-th k of an octet goes among the reordered activations: the
// low nibbles' k (even r) first, then the high nibbles' (gemm.h).
int64_t OctetSlot(int64_t r) { return (r % 2) * 4 + r / 2; }

// Row m of A's 8-bit codes in the kernels' layout for `weights`, each byte
// xor `mask`, with its zero point z (in the kernel operand's terms) and
// each span's term k_count · z − Σ operand.
void LayOutRow(const MatMulJob& job, const WeightOperand& weights, std::span<const std::byte> codes,
               int64_t m, int32_t z, uint8_t mask, bool unsigned_operand, ActivationOperand* act) {
  const bool s8 = weights.kind == WeightKind::kS8;
  act->row_zero[m] = z;
  uint8_t* row = act->bytes.data() + m * act->lda;
  for (size_t s = 0; s < weights.spans.size(); ++s) {
    const KSpan& span = weights.spans[s];
    const uint8_t* src = reinterpret_cast<const uint8_t*>(codes.data()) + m * job.k + span.k_begin;
    uint8_t* dst = row + span.a_offset;
    // Plain loops over bytes, the S8 ones written so that the compiler
    // vectorizes them: one pass, and a count in a local (a byte store
    // could otherwise change span.k_count for all it knows). A span's sum
    // fits int32 (kMaxExactSpan · 255 < 2^31).
    const int64_t n = span.k_count;
    int32_t sum = 0;
    if (s8 && unsigned_operand) {
      for (int64_t kk = 0; kk < n; ++kk) {
        const uint8_t value = src[kk] ^ mask;
        dst[kk] = value;
        sum += value;
      }
    } else if (s8) {
      for (int64_t kk = 0; kk < n; ++kk) {
        const uint8_t value = src[kk] ^ mask;
        dst[kk] = value;
        sum += static_cast<int8_t>(value);
      }
    } else if (weights.direct) {
      for (int64_t kk = 0; kk < n; ++kk) {
        const uint8_t value = src[kk] ^ mask;
        const int64_t i = kk % kRowsBlockK;
        dst[kk - i + (i % 2) * (kRowsBlockK / 2) + i / 2] = value;
        sum += static_cast<int8_t>(value);
      }
    } else {
      for (int64_t kk = 0; kk < n; ++kk) {
        const uint8_t value = src[kk] ^ mask;
        dst[(kk / 8) * 8 + OctetSlot(kk % 8)] = value;
        sum += static_cast<int8_t>(value);
      }
    }
    act->row_term[s * job.m + m] = static_cast<double>(n * int64_t{z} - sum);
  }
}

}  // namespace

absl::StatusOr<ActivationOperand> PrepareActivations(const MatMulJob& job,
                                                     const WeightOperand& weights,
                                                     const std::vector<int64_t>& outliers,
                                                     const ExecutionContext& context) {
  ActivationOperand act;
  const TensorView& a = job.inputs.a;
  act.original = a;
  const bool float_a = IsFloatInputDType(a.dtype);
  if (!float_a) {
    act.given_scales = job.inputs.a_params->scales;
    act.given_zero_points = job.inputs.a_params->zero_points;
  }
  if (weights.kind == WeightKind::kF32) {
    act.lda = job.k;
    act.floats.resize(job.m * job.k);
    for (int64_t m = 0; m < job.m; ++m) {
      for (int64_t k = 0; k < job.k; ++k) {
        const double x = act.Value(m, k);
        if (!std::isfinite(static_cast<float>(x))) return NonFiniteElement(a, "a", m * job.k + k);
        act.floats[m * job.k + k] = static_cast<float>(x);
      }
    }
    return act;
  }

  // The 8-bit codes of A, their signedness, and each row's scale and zero.
  std::vector<std::byte> quantized;
  std::span<const std::byte> codes = a.data;
  bool unsigned_codes = a.dtype == DType::kUInt8;
  act.row_scale.resize(job.m);
  std::vector<int32_t> zero(job.m, 0);
  if (float_a) {
    std::vector<float> rows;
    TensorView source = a;
    if (!outliers.empty()) {
      rows = WithoutOutliers(a, job.m, job.k, outliers);
      source = TensorView{DType::kFloat32, a.shape, std::as_bytes(std::span<const float>(rows))};
    }
    QUANTD_ASSIGN_OR_RETURN(QuantizedTensor q, QuantizeRows(source, 0, "a", context));
    quantized = std::move(q.data);
    codes = quantized;
    for (int64_t m = 0; m < job.m; ++m) act.row_scale[m] = q.result.params.scales[m];
  } else {
    for (int64_t m = 0; m < job.m; ++m) {
      const size_t slot = act.given_scales.size() == 1 ? 0 : m;
      act.row_scale[m] = act.given_scales[slot];
      if (!act.given_zero_points.empty()) zero[m] = act.given_zero_points[slot];
    }
  }

  // Packed S8 panels take unsigned activations; U4 panels and the direct
  // path signed ones: flip the top bit where the codes are the other kind,
  // and the zero point with it.
  const bool unsigned_operand = weights.kind == WeightKind::kS8 && !weights.direct;
  const bool flip = unsigned_operand != unsigned_codes;
  const int32_t zero_shift = !flip ? 0 : (unsigned_operand ? 128 : -128);
  act.lda = weights.activation_bytes;
  act.bytes.assign(job.m * act.lda, 0);
  act.row_zero.resize(job.m);
  act.row_term.resize(weights.spans.size() * job.m);
  // Rows in blocks of about kBlockElements on the pool: for large M this
  // pass is a noticeable part of a call.
  const int64_t rows = std::max<int64_t>(1, kBlockElements / std::max<int64_t>(job.k, 1));
  const uint8_t mask = flip ? 0x80 : 0;
  QUANTD_RETURN_IF_ERROR(RunBlocks(context, (job.m + rows - 1) / rows, [&](int64_t block, int) {
    for (int64_t m = block * rows; m < std::min(job.m, (block + 1) * rows); ++m) {
      LayOutRow(job, weights, codes, m, zero[m] + zero_shift, mask, unsigned_operand, &act);
    }
  }));
  return act;
}

}  // namespace quantd
