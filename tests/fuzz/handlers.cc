// Mirrors of QuantizerService::DoQuantize, DoDequantize, DoAnalyze and of
// CalibrateReactor's Start, Observe and Respond.
#include "tests/fuzz/handlers.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "quantd/analyze.h"
#include "quantd/calibrate.h"
#include "quantd/dequantize.h"
#include "quantd/quantize.h"
#include "quantd/status_macros.h"
#include "server/held_bytes.h"
#include "server/proto_convert.h"

namespace quantd::fuzz {
namespace {

using server::ErrorStatsToProto;
using server::ParamsToProto;
using server::ResizeTensorData;
using server::TensorViewOf;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void SetShape(std::span<const int64_t> shape, v1::Tensor* tensor) {
  tensor->mutable_shape()->Assign(shape.begin(), shape.end());
}

// The call gate charges HeldBytes before the handler runs: whatever the
// request claims, the charge is at least the request itself (saturating,
// never wrapped).
template <typename Request>
void CheckHeldBytes(const Request& request) {
  const int64_t held = server::HeldBytes(request);
  const int64_t size = static_cast<int64_t>(request.ByteSizeLong());
  if (held < size) {
    std::fprintf(stderr, "HeldBytes = %lld is below the request's %lld bytes\n",
                 static_cast<long long>(held), static_cast<long long>(size));
    std::abort();
  }
}

}  // namespace

FuzzServer::FuzzServer() : pool_(/*threads=*/1, /*max_pending=*/16), metrics_("fuzz") {}

ExecutionContext FuzzServer::Context(Isa max_isa) {
  ExecutionContext execution;
  execution.pool = &pool_;
  execution.max_isa = max_isa;
  return execution;
}

absl::Status FuzzServer::Quantize(const v1::QuantizeRequest& request, Isa max_isa,
                                  v1::QuantizeResponse* response) {
  CheckHeldBytes(request);
  const ExecutionContext execution = Context(max_isa);
  const TensorView input = TensorViewOf(request.input());
  QuantizeOptions options = server::OptionsFromProto(request.options());
  bool budget_met = true;
  if (options.dtype == DType::kAuto && !options.params) {
    QUANTD_ASSIGN_OR_RETURN(AutoChoice choice, ChooseAuto(input, options, execution));
    options = choice.options;
    budget_met = choice.budget_met;
  }
  QUANTD_ASSIGN_OR_RETURN(QuantizeJob job, PrepareQuantize(input, options));

  v1::Tensor* output = response->mutable_output();
  output->set_dtype(static_cast<v1::DType>(job.params.dtype));
  SetShape(input.shape, output);
  std::span<std::byte> out = ResizeTensorData(output, job.output_bytes);
  std::span<std::byte> deq;
  if (job.return_dequantized) {
    v1::Tensor* dequantized = response->mutable_dequantized();
    dequantized->set_dtype(request.input().dtype());
    SetShape(input.shape, dequantized);
    deq = ResizeTensorData(dequantized, job.dequantized_bytes);
  }

  const auto start = std::chrono::steady_clock::now();
  QUANTD_ASSIGN_OR_RETURN(QuantizeResult result, RunQuantize(job, out, deq, execution));
  const double kernel_seconds = SecondsSince(start);

  ParamsToProto(result.params, response->mutable_params());
  ErrorStatsToProto(result.error, response->mutable_error());
  response->set_budget_met(budget_met);
  metrics_.RecordQuantize(result.params, static_cast<int64_t>(input.data.size()),
                          job.output_bytes + job.dequantized_bytes, result.error, kernel_seconds);
  return absl::OkStatus();
}

absl::Status FuzzServer::Dequantize(const v1::DequantizeRequest& request, Isa max_isa,
                                    v1::DequantizeResponse* response) {
  CheckHeldBytes(request);
  const ExecutionContext execution = Context(max_isa);
  const TensorView input = TensorViewOf(request.input());
  QUANTD_ASSIGN_OR_RETURN(
      DequantizeJob job,
      PrepareDequantize(input, server::ParamsFromProto(request.params()),
                        static_cast<DType>(request.output_dtype())));
  v1::Tensor* output = response->mutable_output();
  output->set_dtype(static_cast<v1::DType>(job.output_dtype));
  SetShape(input.shape, output);
  std::span<std::byte> out = ResizeTensorData(output, job.output_bytes);

  const auto start = std::chrono::steady_clock::now();
  QUANTD_RETURN_IF_ERROR(RunDequantize(job, out, execution));
  metrics_.RecordDequantize(job.params.dtype, job.count, static_cast<int64_t>(input.data.size()),
                            job.output_bytes, SecondsSince(start));
  return absl::OkStatus();
}

absl::Status FuzzServer::Analyze(const v1::AnalyzeRequest& request, Isa max_isa,
                                 v1::AnalyzeResponse* response) {
  CheckHeldBytes(request);
  const ExecutionContext execution = Context(max_isa);
  const TensorView input = TensorViewOf(request.input());
  std::vector<QuantizeOptions> candidates;
  for (const v1::QuantizeOptions& c : request.candidates()) {
    candidates.push_back(server::OptionsFromProto(c));
  }
  const auto start = std::chrono::steady_clock::now();
  QUANTD_ASSIGN_OR_RETURN(std::vector<AnalyzeRow> rows,
                          quantd::Analyze(input, candidates, execution));
  const double kernel_seconds = SecondsSince(start);
  for (const AnalyzeRow& row : rows) {
    v1::AnalyzeRow* out = response->add_rows();
    server::OptionsToProto(row.options, out->mutable_options());
    out->set_bits_per_element(row.bits_per_element);
    ErrorStatsToProto(row.error, out->mutable_error());
    out->set_pareto(row.pareto);
  }
  const int64_t count = ElementCount(input.shape, "input.shape").value_or(0);
  metrics_.RecordAnalyze(input.dtype, count * static_cast<int64_t>(rows.size()),
                         static_cast<int64_t>(input.data.size()), kernel_seconds);
  return absl::OkStatus();
}

absl::Status FuzzServer::Calibrate(std::span<const v1::CalibrateRequest> stream, Isa max_isa,
                                   v1::CalibrateResponse* response) {
  const ExecutionContext execution = Context(max_isa);
  std::optional<Calibrator> calibrator;
  int64_t batches = 0;
  for (const v1::CalibrateRequest& request : stream) {
    if (!calibrator) {
      // CalibrateReactor::Start.
      if (!request.has_options()) {
        return absl::InvalidArgumentError(
            "the first message must carry options (method and target); later ones carry "
            "batches");
      }
      QUANTD_ASSIGN_OR_RETURN(Calibrator created,
                              Calibrator::Create(server::CalibrateOptionsFromProto(request.options())));
      for (int i = 0; i < request.options().merge_size(); ++i) {
        const std::string field = absl::StrCat("options.merge[", i, "]");
        QUANTD_ASSIGN_OR_RETURN(
            CalibrationState state,
            server::CalibrationStateFromProto(request.options().merge(i), field));
        QUANTD_RETURN_IF_ERROR(created.Merge(state, i));
      }
      calibrator.emplace(std::move(created));
    } else if (request.has_options()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "message ", batches + 1, " carries options; only the first message may"));
    }
    if (!request.has_batch()) continue;
    // CalibrateReactor::Observe.
    const TensorView view = TensorViewOf(request.batch());
    const auto start = std::chrono::steady_clock::now();
    QUANTD_RETURN_IF_ERROR(calibrator->AddBatch(view, batches++, execution));
    const int64_t count = ElementCount(view.shape, "batch.shape").value_or(0);
    metrics_.RecordCalibrationBatch(view.dtype, count, static_cast<int64_t>(view.data.size()),
                                    SecondsSince(start));
  }
  // CalibrateReactor::Respond.
  if (!calibrator) {
    return absl::InvalidArgumentError("the stream carried no messages; the first must carry options");
  }
  QUANTD_ASSIGN_OR_RETURN(CalibrationResult result, calibrator->Finish());
  ParamsToProto(result.params, response->mutable_params());
  server::CalibrationStatsToProto(result.stats, response->mutable_stats());
  server::CalibrationStateToProto(calibrator->state(), response->mutable_state());
  metrics_.RecordCalibration(calibrator->state().options.method, result.stats.observed_min,
                             result.stats.observed_max, result.stats.clip_min,
                             result.stats.clip_max);
  return absl::OkStatus();
}

FuzzServer& Server() {
  static FuzzServer* server = new FuzzServer();
  return *server;
}

}  // namespace quantd::fuzz
