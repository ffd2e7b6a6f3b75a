// The streaming Quantize and Dequantize.
#include "server/tensor_stream.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "quantd/dequantize.h"
#include "quantd/quantize.h"
#include "quantd/status_macros.h"
#include "server/proto_convert.h"

namespace quantd::server {
namespace {

// Chunks of a buffered result.
constexpr size_t kChunkBytes = size_t{2} << 20;

// The input bytes not yet processed, counted against what the header
// promised.
class InputWindow {
 public:
  void Expect(int64_t bytes, std::string what) {
    expected_ = bytes;
    what_ = std::move(what);
  }
  absl::Status Append(const std::string& data) {
    received_ += static_cast<int64_t>(data.size());
    if (received_ > expected_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the stream has sent ", received_, " bytes, more than the ", expected_, " that ", what_,
          " holds"));
    }
    const auto* bytes = reinterpret_cast<const std::byte*>(data.data());
    pending_.insert(pending_.end(), bytes, bytes + data.size());
    return absl::OkStatus();
  }
  absl::Status Complete() const {
    if (received_ != expected_) {
      return absl::InvalidArgumentError(absl::StrCat("the stream ended after ", received_,
                                                     " bytes, but ", what_, " holds ", expected_));
    }
    return absl::OkStatus();
  }
  int64_t pending() const { return static_cast<int64_t>(pending_.size()); }
  std::span<const std::byte> Front(size_t bytes) const {
    return std::span<const std::byte>(pending_).first(bytes);
  }
  void Consume(size_t bytes) { pending_.erase(pending_.begin(), pending_.begin() + bytes); }
  std::vector<std::byte>& all() { return pending_; }
  void Release() { pending_ = {}; }

 private:
  int64_t expected_ = 0;
  int64_t received_ = 0;
  std::string what_;
  std::vector<std::byte> pending_;
};

std::string Describe(DType dtype, const std::vector<int64_t>& shape) {
  return absl::StrCat("a ", DTypeName(dtype), " tensor of shape [", absl::StrJoin(shape, ", "), "]");
}

class QuantizeStream final : public QuantizeTensorStream {
 public:
  QuantizeStream(int64_t max_buffer_bytes, int64_t window_elements, ReserveBytes reserve)
      : max_buffer_bytes_(max_buffer_bytes),
        window_elements_(window_elements),
        reserve_(std::move(reserve)) {}

 private:
  absl::Status OnMessage(v1::QuantizeStreamRequest& request) override {
    if (!job_) {
      if (!request.has_header()) {
        return absl::InvalidArgumentError("the first message must be the header (dtype, shape, options)");
      }
      return Start(request.header());
    }
    if (request.has_header()) {
      return absl::InvalidArgumentError("only the first message may be a header; the rest carry data");
    }
    QUANTD_RETURN_IF_ERROR(input_.Append(request.data()));
    ScheduleMore();
    return absl::OkStatus();
  }

  absl::Status Start(const v1::QuantizeStreamHeader& header) {
    shape_.assign(header.shape().begin(), header.shape().end());
    options_ = OptionsFromProto(header.options());
    const DType dtype = static_cast<DType>(header.dtype());
    if (options_.dtype == DType::kAuto && !options_.params) {
      return absl::InvalidArgumentError(
          "options.dtype AUTO compares formats on the whole tensor; use the unary Quantize");
    }
    if (options_.return_dequantized) {
      return absl::InvalidArgumentError(
          "options.return_dequantized is not available in QuantizeStream; use DequantizeStream");
    }
    QUANTD_ASSIGN_OR_RETURN(QuantizeJob job, PrepareQuantizeShape(dtype, shape_, options_));
    job_.emplace(std::move(job));
    const int64_t bytes = PackedByteSize(dtype, job_->count);
    input_.Expect(bytes, Describe(dtype, shape_));
    windowed_ = job_->params_given;
    if (!windowed_ && bytes > max_buffer_bytes_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          Describe(dtype, shape_), " is ", bytes, " bytes; its range comes from the whole tensor, "
          "which would be buffered, above --max_buffer_bytes=", max_buffer_bytes_,
          ". Send explicit options.params (e.g. from Calibrate) to quantize it in a bounded window"));
    }
    if (!windowed_ && reserve_) {
      QUANTD_RETURN_IF_ERROR(reserve_(bytes + PackedByteSize(job_->params.dtype, job_->count)));
    }
    if (windowed_) {
      v1::QuantizeStreamResponse params;
      ParamsToProto(job_->params, params.mutable_params());
      Send(std::move(params));
    }
    return absl::OkStatus();
  }

  // The next full window, when there is one.
  bool ScheduleMore() override {
    if (!windowed_ || input_.pending() < PackedByteSize(job_->input.dtype, window_elements_)) {
      return false;
    }
    Schedule([this](const ExecutionContext& execution) { return QuantizeWindow(window_elements_, execution); });
    return true;
  }

  absl::Status QuantizeWindow(int64_t count, const ExecutionContext& execution) {
    const size_t in_bytes = PackedByteSize(job_->input.dtype, count);
    std::vector<std::byte> out(PackedByteSize(job_->params.dtype, count));
    QUANTD_RETURN_IF_ERROR(QuantizeSlice(*job_, done_, input_.Front(in_bytes), out, &sums_, execution));
    input_.Consume(in_bytes);
    done_ += count;
    v1::QuantizeStreamResponse data;
    data.set_data(reinterpret_cast<const char*>(out.data()), out.size());
    Send(std::move(data));
    return absl::OkStatus();
  }

  absl::Status OnInputEnd() override {
    if (!job_) return absl::InvalidArgumentError("the stream carried no header");
    QUANTD_RETURN_IF_ERROR(input_.Complete());
    FinishAfterWrites();
    Schedule([this](const ExecutionContext& execution) -> absl::Status {
      if (!windowed_) return QuantizeBuffered(execution);
      while (done_ < job_->count) {
        QUANTD_RETURN_IF_ERROR(QuantizeWindow(std::min(window_elements_, job_->count - done_), execution));
      }
      v1::QuantizeStreamResponse error;
      ErrorStatsToProto(FinishErrorStats(sums_), error.mutable_error());
      Send(std::move(error));
      return absl::OkStatus();
    });
    return absl::OkStatus();
  }

  // The whole tensor at once, then its parameters and codes in chunks.
  absl::Status QuantizeBuffered(const ExecutionContext& execution) {
    const TensorView input{job_->input.dtype, shape_, input_.all()};
    QUANTD_ASSIGN_OR_RETURN(QuantizeJob job, PrepareQuantize(input, options_));
    std::vector<std::byte> out(job.output_bytes);
    QUANTD_ASSIGN_OR_RETURN(QuantizeResult result, RunQuantize(job, out, {}, execution));
    input_.Release();
    v1::QuantizeStreamResponse params;
    ParamsToProto(result.params, params.mutable_params());
    Send(std::move(params));
    for (size_t at = 0; at < out.size(); at += kChunkBytes) {
      v1::QuantizeStreamResponse data;
      data.set_data(reinterpret_cast<const char*>(out.data()) + at, std::min(kChunkBytes, out.size() - at));
      Send(std::move(data));
    }
    v1::QuantizeStreamResponse error;
    ErrorStatsToProto(result.error, error.mutable_error());
    Send(std::move(error));
    return absl::OkStatus();
  }

  void Release() override { input_.Release(); }

  const int64_t max_buffer_bytes_;
  const int64_t window_elements_;
  const ReserveBytes reserve_;
  std::vector<int64_t> shape_;
  QuantizeOptions options_;
  std::optional<QuantizeJob> job_;
  InputWindow input_;
  bool windowed_ = false;
  int64_t done_ = 0;
  ErrorSums sums_;
};

class DequantizeStream final : public DequantizeTensorStream {
 public:
  explicit DequantizeStream(int64_t window_elements) : window_elements_(window_elements) {}

 private:
  absl::Status OnMessage(v1::DequantizeStreamRequest& request) override {
    if (!job_) {
      if (!request.has_header()) {
        return absl::InvalidArgumentError(
            "the first message must be the header (params, dtype, shape, output_dtype)");
      }
      const v1::DequantizeStreamHeader& header = request.header();
      shape_.assign(header.shape().begin(), header.shape().end());
      const DType dtype = static_cast<DType>(header.dtype());
      QUANTD_ASSIGN_OR_RETURN(
          DequantizeJob job,
          PrepareDequantizeShape(dtype, shape_, ParamsFromProto(header.params()),
                                 static_cast<DType>(header.output_dtype())));
      job_.emplace(std::move(job));
      input_.Expect(PackedByteSize(dtype, job_->count), Describe(dtype, shape_));
      return absl::OkStatus();
    }
    if (request.has_header()) {
      return absl::InvalidArgumentError("only the first message may be a header; the rest carry data");
    }
    QUANTD_RETURN_IF_ERROR(input_.Append(request.data()));
    ScheduleMore();
    return absl::OkStatus();
  }

  bool ScheduleMore() override {
    if (!job_ || input_.pending() < PackedByteSize(job_->params.dtype, window_elements_)) {
      return false;
    }
    Schedule([this](const ExecutionContext& execution) { return DequantizeWindow(window_elements_, execution); });
    return true;
  }

  absl::Status DequantizeWindow(int64_t count, const ExecutionContext& execution) {
    const size_t in_bytes = PackedByteSize(job_->params.dtype, count);
    std::vector<std::byte> out(PackedByteSize(job_->output_dtype, count));
    QUANTD_RETURN_IF_ERROR(DequantizeSlice(*job_, done_, count, input_.Front(in_bytes), out, execution));
    input_.Consume(in_bytes);
    done_ += count;
    v1::DequantizeStreamResponse data;
    data.set_data(reinterpret_cast<const char*>(out.data()), out.size());
    Send(std::move(data));
    return absl::OkStatus();
  }

  absl::Status OnInputEnd() override {
    if (!job_) return absl::InvalidArgumentError("the stream carried no header");
    QUANTD_RETURN_IF_ERROR(input_.Complete());
    FinishAfterWrites();
    Schedule([this](const ExecutionContext& execution) -> absl::Status {
      while (done_ < job_->count) {
        QUANTD_RETURN_IF_ERROR(DequantizeWindow(std::min(window_elements_, job_->count - done_), execution));
      }
      return absl::OkStatus();
    });
    return absl::OkStatus();
  }

  void Release() override { input_.Release(); }

  const int64_t window_elements_;
  std::vector<int64_t> shape_;
  std::optional<DequantizeJob> job_;
  InputWindow input_;
  int64_t done_ = 0;
};

}  // namespace

std::unique_ptr<QuantizeTensorStream> NewQuantizeTensorStream(int64_t max_buffer_bytes,
                                                              int64_t window_elements,
                                                              ReserveBytes reserve) {
  return std::make_unique<QuantizeStream>(max_buffer_bytes, window_elements, std::move(reserve));
}

std::unique_ptr<DequantizeTensorStream> NewDequantizeTensorStream(int64_t window_elements) {
  return std::make_unique<DequantizeStream>(window_elements);
}

}  // namespace quantd::server
