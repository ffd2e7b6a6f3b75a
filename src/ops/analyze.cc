// Analyze and AUTO: many candidate formats on one tensor.
#include "quantd/analyze.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "formats/element_format.h"
#include "formats/scale_format.h"
#include "kernels/kernels.h"
#include "ops/parallel.h"
#include "ops/quantize_steps.h"
#include "ops/slot_statistics.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

QuantizeOptions Candidate(DType dtype, Granularity granularity = Granularity::kPerTensor,
                          int32_t axis = 0, int32_t group_size = 0,
                          DType scale_dtype = DType::kUnspecified) {
  QuantizeOptions o;
  o.dtype = dtype;
  o.granularity = granularity;
  o.axis = axis;
  o.group_size = group_size;
  o.scale_dtype = scale_dtype;
  return o;
}

double BitsPerElement(const QuantizeJob& job, const QuantParams& params) {
  const double count = static_cast<double>(job.count);
  const int bits = DTypeBits(params.dtype);
  if (job.count == 0) return bits;
  const double side = static_cast<double>(params.scales.size()) * ScaleBits(params.scale_dtype) +
                      static_cast<double>(params.zero_points.size()) * bits +
                      static_cast<double>(params.codebook.size()) * 32;
  return bits + side / count;
}

void MarkParetoFront(std::vector<AnalyzeRow>* rows) {
  for (AnalyzeRow& row : *rows) {
    row.pareto = std::none_of(rows->begin(), rows->end(), [&](const AnalyzeRow& other) {
      const double b = other.bits_per_element, s = other.error.sqnr_db;
      return (b <= row.bits_per_element && s > row.error.sqnr_db) ||
             (b < row.bits_per_element && s >= row.error.sqnr_db);
    });
  }
}

// One pass serves every candidate's range: min and max per run of
// kBaseGroup along the last axis. A candidate whose slots are unions of
// these runs (per tensor, per channel off the last axis, groups of a
// multiple of kBaseGroup) takes its minima and maxima from them, so that
// it reads the tensor once, to quantize.
constexpr int64_t kBaseGroup = 32;

struct BaseRanges {
  SlotLayout layout;
  std::vector<float> mins;
  std::vector<float> maxs;
};

absl::StatusOr<BaseRanges> ObserveBaseRanges(const TensorView& input, int64_t count,
                                             const ExecutionContext& context) {
  BaseRanges base;
  const int64_t last = input.shape.empty() ? 1 : input.shape.back();
  base.layout = SlotLayout{count / last, last, 1, kBaseGroup};
  const SlotTensor tensor{FloatSource{input.dtype, input.data.data()}, count, base.layout};
  FirstNonFinite bad(count);
  QUANTD_RETURN_IF_ERROR(ObserveMinMax(tensor, SelectKernels(context.max_isa), context, &bad,
                                       &base.mins, &base.maxs));
  if (bad.found()) return bad.Error(tensor.src);
  return base;
}

// The target's per-slot minima and maxima, when each base run lies inside
// one of its slots.
bool DeriveRanges(const BaseRanges& base, const SlotLayout& target, std::vector<float>* mins,
                  std::vector<float>* maxs) {
  const int64_t blocks = base.layout.blocks();
  const int64_t len = base.layout.axis_len;
  mins->assign(target.slots(), std::numeric_limits<float>::infinity());
  maxs->assign(target.slots(), -std::numeric_limits<float>::infinity());
  for (int64_t s = 0; s < static_cast<int64_t>(base.mins.size()); ++s) {
    const int64_t first = (s / blocks) * len + (s % blocks) * kBaseGroup;
    const int64_t last = first + base.layout.SlotElements(s) - 1;
    const int64_t slot = target.SlotOf(first);
    if (target.SlotOf(last) != slot) return false;
    (*mins)[slot] = std::min((*mins)[slot], base.mins[s]);
    (*maxs)[slot] = std::max((*maxs)[slot], base.maxs[s]);
  }
  return true;
}

// One candidate, with its ranges from the base pass when they derive.
absl::StatusOr<QuantizeResult> RunCandidate(const QuantizeJob& job, const BaseRanges* base,
                                            std::span<std::byte> out,
                                            const ExecutionContext& context) {
  std::vector<float> mins, maxs;
  const bool needs_range = !job.params_given && job.range_method != RangeMethod::kUnspecified;
  if (!needs_range || base == nullptr || !DeriveRanges(*base, job.layout, &mins, &maxs)) {
    return RunQuantize(job, out, {}, context);
  }
  QUANTD_ASSIGN_OR_RETURN(QuantParams params, ChooseQuantParams(job, mins, maxs, context));
  return QuantizeWithParams(job, std::move(params), out, {}, context);
}

}  // namespace

std::vector<QuantizeOptions> DefaultSweep(std::span<const int64_t> shape) {
  const bool has_axes = !shape.empty();
  std::vector<QuantizeOptions> sweep{Candidate(DType::kBinary), Candidate(DType::kTernary)};
  if (has_axes) {
    for (DType dtype : {DType::kInt4, DType::kNF4}) {
      for (int32_t group : {32, 64, 128}) {
        sweep.push_back(Candidate(dtype, Granularity::kPerGroup, -1, group));
      }
    }
  }
  sweep.push_back(Candidate(DType::kInt8));
  if (has_axes) sweep.push_back(Candidate(DType::kInt8, Granularity::kPerChannel, 0));
  sweep.push_back(Candidate(DType::kFloat8E4M3FN));
  sweep.push_back(Candidate(DType::kFloat8E5M2));
  if (has_axes) {
    for (DType dtype : {DType::kFloat8E4M3FN, DType::kFloat4E2M1, DType::kInt8}) {
      sweep.push_back(Candidate(dtype, Granularity::kPerGroup, -1, 32, DType::kE8M0));
    }
  }
  sweep.push_back(Candidate(DType::kFloat16));
  sweep.push_back(Candidate(DType::kBFloat16));
  return sweep;
}

absl::StatusOr<std::vector<AnalyzeRow>> Analyze(const TensorView& input,
                                                std::span<const QuantizeOptions> candidates,
                                                const ExecutionContext& context) {
  std::vector<QuantizeOptions> sweep;
  if (candidates.empty()) {
    sweep = DefaultSweep(input.shape);
    candidates = sweep;
  }
  // Every candidate is checked before any work starts.
  std::vector<QuantizeJob> jobs;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].dtype == DType::kAuto) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidates[", i, "].dtype AUTO is not a format to analyze"));
    }
    QuantizeOptions options = candidates[i];
    options.return_dequantized = false;
    auto job = PrepareQuantize(input, options);
    if (!job.ok()) {
      return absl::Status(job.status().code(),
                          absl::StrCat("candidates[", i, "]: ", job.status().message()));
    }
    jobs.push_back(*std::move(job));
  }
  std::optional<BaseRanges> base;
  const int64_t count = jobs.empty() ? 0 : jobs[0].count;
  if (count > 0) {
    QUANTD_ASSIGN_OR_RETURN(base, ObserveBaseRanges(input, count, context));
  }
  // Candidates run side by side, one per worker, each on its own: their
  // scratch output is one buffer per worker, not one per candidate.
  std::vector<AnalyzeRow> rows(jobs.size());
  std::vector<absl::Status> statuses(jobs.size());
  std::vector<std::vector<std::byte>> scratch(WorkerCount(context));
  ExecutionContext inline_context;
  inline_context.cancelled = context.cancelled;
  inline_context.max_isa = context.max_isa;
  QUANTD_RETURN_IF_ERROR(RunBlocks(context, static_cast<int64_t>(jobs.size()), [&](int64_t i, int worker) {
    std::vector<std::byte>& out = scratch[worker];
    out.resize(jobs[i].output_bytes);
    auto result = RunCandidate(jobs[i], base ? &*base : nullptr, out, inline_context);
    if (!result.ok()) {
      statuses[i] = result.status();
      return;
    }
    rows[i].options = candidates[i];
    rows[i].error = result->error;
    rows[i].bits_per_element = BitsPerElement(jobs[i], result->params);
  }));
  for (const absl::Status& s : statuses) QUANTD_RETURN_IF_ERROR(s);
  MarkParetoFront(&rows);
  return rows;
}

bool MeetsBudget(const ErrorStats& e, const ErrorBudget& b) {
  return (!b.min_sqnr_db || e.sqnr_db >= *b.min_sqnr_db) && (!b.max_mse || e.mse <= *b.max_mse) &&
         (!b.max_abs_error || e.max_abs_error <= *b.max_abs_error) &&
         (!b.min_cosine_similarity || e.cosine_similarity >= *b.min_cosine_similarity);
}

absl::StatusOr<AutoChoice> ChooseAuto(const TensorView& input, const QuantizeOptions& options,
                                      const ExecutionContext& context) {
  if (options.max_error.empty()) {
    return absl::InvalidArgumentError(
        "options.dtype AUTO needs options.max_error with at least one bound "
        "(min_sqnr_db, max_mse, max_abs_error or min_cosine_similarity)");
  }
  QUANTD_ASSIGN_OR_RETURN(std::vector<AnalyzeRow> rows, Analyze(input, {}, context));
  if (rows.empty()) return absl::InternalError("ChooseAuto: the default sweep is empty");
  const AnalyzeRow* best = nullptr;
  for (const AnalyzeRow& row : rows) {
    if (MeetsBudget(row.error, options.max_error) &&
        (best == nullptr || row.bits_per_element < best->bits_per_element)) {
      best = &row;
    }
  }
  AutoChoice choice;
  choice.budget_met = best != nullptr;
  if (best == nullptr) {
    best = &*std::max_element(rows.begin(), rows.end(), [](const AnalyzeRow& a, const AnalyzeRow& b) {
      return a.error.sqnr_db < b.error.sqnr_db;
    });
  }
  choice.options = best->options;
  choice.options.return_dequantized = options.return_dequantized;
  return choice;
}

}  // namespace quantd
