// What a streaming RPC (QuantizeStream, DequantizeStream) does with its
// messages, without gRPC: one thing at a time. A stream takes a message,
// may hand work to the kernel pool, writes what the work produced, and only
// then reads on, so it holds at most one input window and its output,
// whatever the tensor's size. The gRPC reactor (stream_reactor.h) drives a
// TensorStream over a call; anything else that must behave as the server
// does (the fuzz targets) drives the same object with the same steps.
#ifndef QUANTD_SERVER_TENSOR_STREAM_H_
#define QUANTD_SERVER_TENSOR_STREAM_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "quantd/execution.h"
#include "quantd/quantize.h"
#include "quantd/v1/quantd.pb.h"

namespace quantd::server {

template <typename Request, typename Response>
class TensorStream {
 public:
  using Work = std::function<absl::Status(const ExecutionContext&)>;

  // What the driver does next, in this order of precedence: run the work
  // a message or the end of input asked for; write a queued response; run
  // more work (the next full window); finish the call with OK; read the
  // next message.
  enum class Step { kRunWork, kWrite, kFinish, kRead };

  virtual ~TensorStream() = default;

  // A message arrived. An error ends the call with it.
  absl::Status Received(Request& request) { return OnMessage(request); }
  // The client finished writing. An error ends the call with it.
  absl::Status InputEnded() { return OnInputEnd(); }

  Step Next() {
    if (work_) return Step::kRunWork;
    if (!outbox_.empty()) return Step::kWrite;
    if (ScheduleMore() && work_) return Step::kRunWork;
    if (finishing_) return Step::kFinish;
    return Step::kRead;
  }
  // After kRunWork: the work, to run on the pool (never on a thread that
  // serves the network). An error ends the call with it; otherwise the
  // driver asks Next() again.
  Work TakeWork() { return std::exchange(work_, nullptr); }
  // After kWrite: the response to write; Written() once it is.
  Response& NextResponse() { return outbox_.front(); }
  void Written() { outbox_.pop_front(); }

  // The call ended (whatever the reason): frees the stream's buffers at
  // once.
  void End() {
    outbox_.clear();
    work_ = nullptr;
    Release();
  }

 protected:
  // A message arrived; it may queue responses and set Schedule()'s work.
  virtual absl::Status OnMessage(Request& request) = 0;
  // The client finished writing.
  virtual absl::Status OnInputEnd() = 0;
  // More work, after the queued responses are written (e.g. the next full
  // window): returns false when there is none.
  virtual bool ScheduleMore() { return false; }
  // Frees the stream's buffers.
  virtual void Release() {}

  void Schedule(Work work) { work_ = std::move(work); }
  void Send(Response response) { outbox_.push_back(std::move(response)); }
  void FinishAfterWrites() { finishing_ = true; }

 private:
  std::deque<Response> outbox_;
  Work work_;
  bool finishing_ = false;
};

using QuantizeTensorStream = TensorStream<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>;
using DequantizeTensorStream =
    TensorStream<v1::DequantizeStreamRequest, v1::DequantizeStreamResponse>;

// Elements per window: a multiple of kSliceAlignment (so that windows are
// whole blocks of the tensor and their results equal the unary call's)
// whose largest output (FLOAT32 out of Dequantize, 2 MiB) fits gRPC's
// default 4 MiB receive limit.
inline constexpr int64_t kStreamWindowElements = 8 * kSliceAlignment;

// Asks the server's memory budget for `bytes` more, held until the call
// ends: OK, or the status that ends the stream (RESOURCE_EXHAUSTED).
using ReserveBytes = std::function<absl::Status(int64_t bytes)>;

// QuantizeStream: with explicit params it works through a bounded window
// of `window_elements` (a positive multiple of kSliceAlignment); when the
// range must come from the whole tensor it buffers it, up to
// `max_buffer_bytes` (a header claiming more is refused at once), and first
// reserves the tensor and its codes with `reserve` (when given).
std::unique_ptr<QuantizeTensorStream> NewQuantizeTensorStream(
    int64_t max_buffer_bytes, int64_t window_elements = kStreamWindowElements,
    ReserveBytes reserve = nullptr);
// DequantizeStream: always through the bounded window.
std::unique_ptr<DequantizeTensorStream> NewDequantizeTensorStream(
    int64_t window_elements = kStreamWindowElements);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_TENSOR_STREAM_H_
