// Turning a matmul's inputs into the kernels' operands (matmul_operands.h).
#include "ops/matmul_operands.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "formats/element_io.h"
#include "formats/packing.h"
#include "kernels/gemm.h"
#include "quantd/quantize.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

// A prefix naming the operand in the messages of the Quantize it runs.
absl::Status Named(absl::string_view field, const absl::Status& status) {
  if (status.ok() || status.code() != absl::StatusCode::kInvalidArgument) return status;
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", status.message()));
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

// The parameter slot of B's group g along K and column n (API.md's order:
// row-major over the shape with the grouped axis replaced by its blocks).
int64_t WeightSlot(const QuantParams& params, const WeightOperand& w, int64_t g, int64_t n) {
  if (params.granularity == Granularity::kPerTensor) return 0;
  if (params.granularity == Granularity::kPerChannel) return n;
  const int64_t groups = (w.k + w.group_size - 1) / w.group_size;
  return w.k_contiguous ? n * groups + g : g * w.n + n;
}

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
      a_offset += span.steps * step;
      w->spans.push_back(span);
    }
  }
  w->panel_bytes = packed;
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

absl::StatusOr<WeightOperand> PrepareWeights(const MatMulJob& job, const ExecutionContext& context) {
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
    w.b = TensorView{DType::kInt8, b.shape, w.quantized};
    w.kind = WeightKind::kS8;
    w.scales.assign(q.result.params.scales.begin(), q.result.params.scales.end());
    SplitIntoSpans(&w);
    return w;
  }

  const QuantParams& params = *job.inputs.b_params;
  w.b = b;
  w.format = FindElementFormat(b.dtype);
  w.given_scales = params.scales;
  w.given_zero_points = params.zero_points;
  w.layout = job.b_layout;
  if (params.granularity == Granularity::kPerGroup) w.group_size = params.group_size;
  int32_t zero_shift = 0;  // The packed weight is b + zero_shift.
  switch (b.dtype) {
    case DType::kInt8: w.kind = WeightKind::kS8; break;
    case DType::kUInt8: w.kind = WeightKind::kS8; w.xor_mask = 0x80; zero_shift = -128; break;
    case DType::kInt4: w.kind = WeightKind::kU4; w.xor_mask = 0x8; zero_shift = 8; break;
    case DType::kUInt4: w.kind = WeightKind::kU4; break;
    default: w.kind = WeightKind::kF32; w.levels = kNF4Levels; break;
  }
  if (w.kind == WeightKind::kF32) {
    w.panel_bytes = job.k * kPanelColumns;
    return w;
  }
  const int64_t groups = w.k == 0 ? 0 : (w.k + w.group_size - 1) / w.group_size;
  w.scales.resize(groups * w.n);
  w.zero_points.resize(groups * w.n);
  bool any_zero_point = false;
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t n = 0; n < w.n; ++n) {
      const int64_t slot = WeightSlot(params, w, g, n);
      w.scales[g * w.n + n] = params.scales[slot];
      const int32_t zero = (params.zero_points.empty() ? 0 : params.zero_points[slot]) + zero_shift;
      w.zero_points[g * w.n + n] = zero;
      any_zero_point |= zero != 0;
    }
  }
  if (!any_zero_point) w.zero_points.clear();
  SplitIntoSpans(&w);
  return w;
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
      if (!std::isfinite(static_cast<float>(x))) {
        return absl::InvalidArgumentError(absl::StrCat("a holds ", x, " at [", m, ", ", k,
                                                       "]: inputs must be finite"));
      }
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
        if (!std::isfinite(static_cast<float>(x))) {
          return absl::InvalidArgumentError(absl::StrCat("a holds ", x, " at [", m, ", ", k,
                                                         "]: inputs must be finite"));
        }
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

  // S8 panels take unsigned activations, U4 panels signed ones: flip the
  // top bit where the codes are the other kind, and the zero point with it.
  const bool s8 = weights.kind == WeightKind::kS8;
  const bool flip = s8 != unsigned_codes;
  const int32_t zero_shift = !flip ? 0 : (s8 ? 128 : -128);
  const int64_t step = s8 ? 4 : 8;
  const KSpan* last = weights.spans.empty() ? nullptr : &weights.spans.back();
  act.lda = last == nullptr ? 0 : last->a_offset + last->steps * step;
  act.bytes.assign(job.m * act.lda, 0);
  act.row_zero.resize(job.m);
  act.row_term.resize(weights.spans.size() * job.m);
  for (int64_t m = 0; m < job.m; ++m) {
    const int32_t z = zero[m] + zero_shift;
    act.row_zero[m] = z;
    uint8_t* row = act.bytes.data() + m * act.lda;
    for (size_t s = 0; s < weights.spans.size(); ++s) {
      const KSpan& span = weights.spans[s];
      const auto* src = reinterpret_cast<const uint8_t*>(codes.data()) + m * job.k + span.k_begin;
      uint8_t* dst = row + span.a_offset;
      // Plain loops over bytes, which the compiler vectorizes: for large M
      // this pass is a noticeable part of a call.
      const uint8_t mask = flip ? 0x80 : 0;
      int64_t sum = 0;
      if (s8) {
        for (int64_t kk = 0; kk < span.k_count; ++kk) dst[kk] = src[kk] ^ mask;
        for (int64_t kk = 0; kk < span.k_count; ++kk) sum += dst[kk];
      } else {
        for (int64_t kk = 0; kk < span.k_count; ++kk) {
          const uint8_t value = src[kk] ^ mask;
          dst[(kk / 8) * 8 + OctetSlot(kk % 8)] = value;
          sum += static_cast<int8_t>(value);
        }
      }
      act.row_term[s * job.m + m] = static_cast<double>(span.k_count * int64_t{z} - sum);
    }
  }
  return act;
}

}  // namespace quantd
