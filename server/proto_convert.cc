// Conversions between quantd.v1 messages and core types.
#include "server/proto_convert.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace quantd::server {

TensorView TensorViewOf(const v1::Tensor& tensor) {
  TensorView view;
  view.dtype = static_cast<DType>(tensor.dtype());
  view.shape = std::span<const int64_t>(tensor.shape().data(), tensor.shape().size());
  view.data = std::as_bytes(std::span<const char>(tensor.data()));
  return view;
}

QuantParams ParamsFromProto(const v1::QuantParams& proto) {
  QuantParams params;
  params.dtype = static_cast<DType>(proto.dtype());
  params.scheme = static_cast<Scheme>(proto.scheme());
  params.granularity = static_cast<Granularity>(proto.granularity());
  params.axis = proto.axis();
  params.group_size = proto.group_size();
  params.scales.assign(proto.scales().begin(), proto.scales().end());
  params.zero_points.assign(proto.zero_points().begin(), proto.zero_points().end());
  params.full_range = proto.full_range();
  params.scale_dtype = static_cast<DType>(proto.scale_dtype());
  params.codebook.assign(proto.codebook().begin(), proto.codebook().end());
  return params;
}

void ParamsToProto(const QuantParams& params, v1::QuantParams* proto) {
  proto->set_dtype(static_cast<v1::DType>(params.dtype));
  proto->set_scheme(static_cast<v1::Scheme>(params.scheme));
  proto->set_granularity(static_cast<v1::Granularity>(params.granularity));
  proto->set_axis(params.axis);
  proto->set_group_size(params.group_size);
  proto->mutable_scales()->Assign(params.scales.begin(), params.scales.end());
  proto->mutable_zero_points()->Assign(params.zero_points.begin(), params.zero_points.end());
  proto->set_full_range(params.full_range);
  proto->set_scale_dtype(static_cast<v1::DType>(params.scale_dtype));
  proto->mutable_codebook()->Assign(params.codebook.begin(), params.codebook.end());
}

QuantizeOptions OptionsFromProto(const v1::QuantizeOptions& proto) {
  QuantizeOptions options;
  options.dtype = static_cast<DType>(proto.dtype());
  options.scheme = static_cast<Scheme>(proto.scheme());
  options.granularity = static_cast<Granularity>(proto.granularity());
  options.axis = proto.axis();
  options.group_size = proto.group_size();
  options.full_range = proto.full_range();
  options.scale_dtype = static_cast<DType>(proto.scale_dtype());
  options.range_method = static_cast<RangeMethod>(proto.range_method());
  options.percentile = proto.percentile();
  if (proto.has_clip_min()) options.clip_min = proto.clip_min();
  if (proto.has_clip_max()) options.clip_max = proto.clip_max();
  if (proto.has_params()) options.params = ParamsFromProto(proto.params());
  options.rounding = static_cast<Rounding>(proto.rounding());
  options.seed = proto.seed();
  options.return_dequantized = proto.return_dequantized();
  const v1::ErrorBudget& budget = proto.max_error();
  if (budget.has_min_sqnr_db()) options.max_error.min_sqnr_db = budget.min_sqnr_db();
  if (budget.has_max_mse()) options.max_error.max_mse = budget.max_mse();
  if (budget.has_max_abs_error()) options.max_error.max_abs_error = budget.max_abs_error();
  if (budget.has_min_cosine_similarity()) {
    options.max_error.min_cosine_similarity = budget.min_cosine_similarity();
  }
  return options;
}

void OptionsToProto(const QuantizeOptions& options, v1::QuantizeOptions* proto) {
  proto->set_dtype(static_cast<v1::DType>(options.dtype));
  proto->set_scheme(static_cast<v1::Scheme>(options.scheme));
  proto->set_granularity(static_cast<v1::Granularity>(options.granularity));
  proto->set_axis(options.axis);
  proto->set_group_size(options.group_size);
  proto->set_full_range(options.full_range);
  proto->set_scale_dtype(static_cast<v1::DType>(options.scale_dtype));
  proto->set_range_method(static_cast<v1::RangeMethod>(options.range_method));
  proto->set_percentile(options.percentile);
  if (options.clip_min) proto->set_clip_min(*options.clip_min);
  if (options.clip_max) proto->set_clip_max(*options.clip_max);
  if (options.params) ParamsToProto(*options.params, proto->mutable_params());
  proto->set_rounding(static_cast<v1::Rounding>(options.rounding));
  proto->set_seed(options.seed);
  proto->set_return_dequantized(options.return_dequantized);
}

CalibrateOptions CalibrateOptionsFromProto(const v1::CalibrateOptions& proto) {
  CalibrateOptions o;
  o.method = static_cast<RangeMethod>(proto.method());
  o.dtype = static_cast<DType>(proto.dtype());
  o.scheme = static_cast<Scheme>(proto.scheme());
  o.granularity = static_cast<Granularity>(proto.granularity());
  o.axis = proto.axis();
  o.group_size = proto.group_size();
  o.full_range = proto.full_range();
  o.scale_dtype = static_cast<DType>(proto.scale_dtype());
  o.num_bins = proto.num_bins();
  o.percentile = proto.percentile();
  o.averaging_constant = proto.averaging_constant();
  return o;
}

void CalibrateOptionsToProto(const CalibrateOptions& o, v1::CalibrateOptions* proto) {
  proto->set_method(static_cast<v1::RangeMethod>(o.method));
  proto->set_dtype(static_cast<v1::DType>(o.dtype));
  proto->set_scheme(static_cast<v1::Scheme>(o.scheme));
  proto->set_granularity(static_cast<v1::Granularity>(o.granularity));
  proto->set_axis(o.axis);
  proto->set_group_size(o.group_size);
  proto->set_full_range(o.full_range);
  proto->set_scale_dtype(static_cast<v1::DType>(o.scale_dtype));
  proto->set_num_bins(o.num_bins);
  proto->set_percentile(o.percentile);
  proto->set_averaging_constant(o.averaging_constant);
}

absl::StatusOr<CalibrationState> CalibrationStateFromProto(const v1::CalibrationState& proto,
                                                           absl::string_view field) {
  CalibrationState state;
  state.options = CalibrateOptionsFromProto(proto.options());
  state.slot_shape.assign(proto.channel_shape().begin(), proto.channel_shape().end());
  state.resolved_axis = proto.resolved_axis();
  state.observed_min.assign(proto.observed_min().begin(), proto.observed_min().end());
  state.observed_max.assign(proto.observed_max().begin(), proto.observed_max().end());
  state.values_seen = proto.values_seen();
  state.batches_seen = proto.batches_seen();
  for (int i = 0; i < proto.histograms_size(); ++i) {
    const v1::CalibrationHistogram& h = proto.histograms(i);
    const int exponent = h.hi() > 0 ? std::ilogb(h.hi()) : 0;
    if (!(h.hi() > 0) || std::ldexp(1.0, exponent) != h.hi() || h.lo() != -h.hi()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".histograms[", i, "] covers [", h.lo(), ", ", h.hi(),
          "]; this server's histograms cover [-2^k, 2^k]"));
    }
    state.histograms.push_back({exponent, {h.counts().begin(), h.counts().end()}});
  }
  if (state.values_seen < 0 || state.batches_seen < 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, " has negative counts"));
  }
  return state;
}

void CalibrationStateToProto(const CalibrationState& state, v1::CalibrationState* proto) {
  proto->set_version(1);
  CalibrateOptionsToProto(state.options, proto->mutable_options());
  proto->mutable_channel_shape()->Assign(state.slot_shape.begin(), state.slot_shape.end());
  proto->set_resolved_axis(state.resolved_axis);
  proto->mutable_observed_min()->Assign(state.observed_min.begin(), state.observed_min.end());
  proto->mutable_observed_max()->Assign(state.observed_max.begin(), state.observed_max.end());
  for (const CalibrationHistogram& h : state.histograms) {
    v1::CalibrationHistogram* out = proto->add_histograms();
    const double range = std::ldexp(1.0, h.range_exponent);
    out->set_lo(-range);
    out->set_hi(range);
    out->mutable_counts()->Assign(h.counts.begin(), h.counts.end());
  }
  proto->set_values_seen(state.values_seen);
  proto->set_batches_seen(state.batches_seen);
}

void CalibrationStatsToProto(const CalibrationStats& stats, v1::CalibrationStats* proto) {
  proto->mutable_observed_min()->Assign(stats.observed_min.begin(), stats.observed_min.end());
  proto->mutable_observed_max()->Assign(stats.observed_max.begin(), stats.observed_max.end());
  proto->mutable_clip_min()->Assign(stats.clip_min.begin(), stats.clip_min.end());
  proto->mutable_clip_max()->Assign(stats.clip_max.begin(), stats.clip_max.end());
  proto->set_values_seen(stats.values_seen);
  proto->set_batches_seen(stats.batches_seen);
}

MatMulInputs MatMulInputsFromProto(const v1::MatMulRequest& request) {
  MatMulInputs inputs;
  inputs.a = TensorViewOf(request.a());
  if (request.has_a_params()) inputs.a_params = ParamsFromProto(request.a_params());
  inputs.b = TensorViewOf(request.b());
  if (request.has_b_params()) inputs.b_params = ParamsFromProto(request.b_params());
  if (request.has_bias()) inputs.bias = TensorViewOf(request.bias());
  return inputs;
}

MatMulOptions MatMulOptionsFromProto(const v1::MatMulRequest& request) {
  MatMulOptions options;
  options.transpose_b = request.transpose_b();
  options.outlier_threshold = request.outlier_threshold();
  options.output_dtype = static_cast<DType>(request.output_dtype());
  options.compute_reference_error = request.compute_reference_error();
  return options;
}

void ErrorStatsToProto(const ErrorStats& stats, v1::ErrorStats* proto) {
  proto->set_count(stats.count);
  proto->set_mse(stats.mse);
  proto->set_mean_abs_error(stats.mean_abs_error);
  proto->set_sum_abs_error(stats.sum_abs_error);
  proto->set_max_abs_error(stats.max_abs_error);
  proto->set_sqnr_db(stats.sqnr_db);
  proto->set_cosine_similarity(stats.cosine_similarity);
  proto->set_clipped_count(stats.clipped_count);
}

std::span<std::byte> ResizeTensorData(v1::Tensor* tensor, int64_t bytes) {
  std::string* data = tensor->mutable_data();
  data->resize(static_cast<size_t>(bytes));
  return std::as_writable_bytes(std::span<char>(data->data(), data->size()));
}

}  // namespace quantd::server
