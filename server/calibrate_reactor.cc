// Calibrate over a stream.
#include "server/calibrate_reactor.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "quantd/status_macros.h"
#include "server/grpc_status.h"
#include "server/pool_work.h"
#include "server/proto_convert.h"

namespace quantd::server {

CalibrateReactor::CalibrateReactor(grpc::CallbackServerContext* context,
                                   v1::CalibrateResponse* response, KernelPool* pool, Isa max_isa,
                                   Metrics* metrics)
    : context_(context), response_(response), pool_(pool), max_isa_(max_isa), metrics_(metrics) {
  metrics_->inflight_requests.Increment();
  StartRead(&request_);
}

void CalibrateReactor::OnReadDone(bool ok) {
  if (!ok) {
    // The client closed its side (or the stream broke, which the status of
    // the call reflects): compute the parameters.
    if (context_->IsCancelled()) return End(absl::CancelledError("the client cancelled"));
    return RunOnPool([this](const ExecutionContext&) { return Respond(); }, /*last=*/true);
  }
  if (!calibrator_) {
    if (absl::Status s = Start(request_); !s.ok()) return End(s);
  } else if (request_.has_options()) {
    return End(absl::InvalidArgumentError(absl::StrCat(
        "message ", batches_ + 1, " carries options; only the first message may")));
  }
  if (!request_.has_batch()) {
    StartRead(&request_);
    return;
  }
  RunOnPool([this](const ExecutionContext& execution) { return Observe(request_.batch(), execution); },
            /*last=*/false);
}

absl::Status CalibrateReactor::Start(const v1::CalibrateRequest& first) {
  if (!first.has_options()) {
    return absl::InvalidArgumentError(
        "the first message must carry options (method and target); later ones carry batches");
  }
  QUANTD_ASSIGN_OR_RETURN(Calibrator calibrator,
                          Calibrator::Create(CalibrateOptionsFromProto(first.options())));
  for (int i = 0; i < first.options().merge_size(); ++i) {
    const std::string field = absl::StrCat("options.merge[", i, "]");
    QUANTD_ASSIGN_OR_RETURN(CalibrationState state,
                            CalibrationStateFromProto(first.options().merge(i), field));
    QUANTD_RETURN_IF_ERROR(calibrator.Merge(state, i));
  }
  calibrator_.emplace(std::move(calibrator));
  return absl::OkStatus();
}

absl::Status CalibrateReactor::Observe(const v1::Tensor& batch, const ExecutionContext& execution) {
  const TensorView view = TensorViewOf(batch);
  const auto start = std::chrono::steady_clock::now();
  QUANTD_RETURN_IF_ERROR(calibrator_->AddBatch(view, batches_++, execution));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t count = ElementCount(view.shape, "batch.shape").value_or(0);
  metrics_->RecordCalibrationBatch(view.dtype, count, static_cast<int64_t>(view.data.size()), seconds);
  return absl::OkStatus();
}

absl::Status CalibrateReactor::Respond() {
  if (!calibrator_) {
    return absl::InvalidArgumentError(
        "the stream carried no messages; the first must carry options");
  }
  QUANTD_ASSIGN_OR_RETURN(CalibrationResult result, calibrator_->Finish());
  ParamsToProto(result.params, response_->mutable_params());
  CalibrationStatsToProto(result.stats, response_->mutable_stats());
  CalibrationStateToProto(calibrator_->state(), response_->mutable_state());
  metrics_->RecordCalibration(calibrator_->state().options.method, result.stats.observed_min,
                              result.stats.observed_max, result.stats.clip_min,
                              result.stats.clip_max);
  return absl::OkStatus();
}

void CalibrateReactor::RunOnPool(std::function<absl::Status(const ExecutionContext&)> work,
                                 bool last) {
  auto task = [this, work = std::move(work)] {
    batch_status_ = work(CallExecution(context_, pool_, max_isa_));
    // The batch is observed: its bytes are not needed any more.
    request_.Clear();
  };
  auto next = [this, last] {
    if (!batch_status_.ok() || last) return End(batch_status_);
    StartRead(&request_);
  };
  if (absl::Status refused = SubmitToPool(pool_, metrics_, std::move(task), std::move(next));
      !refused.ok()) {
    End(refused);
  }
}

void CalibrateReactor::End(absl::Status status) {
  // The observer's state goes now, not when gRPC gets round to OnDone.
  calibrator_.reset();
  metrics_->inflight_requests.Decrement();
  Finish(ToGrpcStatus(status));
}

}  // namespace quantd::server
