// The server's handlers, called as the gRPC service calls them.
#include "tests/fuzz/fuzz_server.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/held_bytes.h"
#include "server/rpc_handlers.h"
#include "server/tensor_stream.h"
#include "tests/fuzz/fuzz_checks.h"

namespace quantd::fuzz {
namespace {

// The call gate's charge: whatever the request claims, at least the
// request itself (saturating, never wrapped); above the limit the call is
// refused before its handler runs.
template <typename Request>
absl::Status Admit(const Request& request) {
  const int64_t held = server::HeldBytes(request);
  const int64_t size = static_cast<int64_t>(request.ByteSizeLong());
  if (held < size) {
    Fail(absl::StrCat("HeldBytes = ", held, " is below the request's ", size, " bytes"));
  }
  if (held > kMaxHeldBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("held bytes ", held, " above the limit"));
  }
  return absl::OkStatus();
}

// As server/stream_reactor.h drives a stream over a call: a read (the next
// message, or the end of input), then the stream's steps until it asks for
// the next read or finishes; the first error ends the call.
template <typename Request, typename Response>
absl::Status Drive(server::TensorStream<Request, Response>& stream,
                   std::span<const Request> messages, const ExecutionContext& execution,
                   std::vector<Response>* responses) {
  using Step = typename server::TensorStream<Request, Response>::Step;
  auto end = [&stream](absl::Status status) {
    stream.End();
    return status;
  };
  for (size_t next = 0;; ++next) {
    Request request;
    if (next < messages.size()) request = messages[next];
    const absl::Status received =
        next < messages.size() ? stream.Received(request) : stream.InputEnded();
    if (!received.ok()) return end(received);
    for (Step step = stream.Next(); step != Step::kRead; step = stream.Next()) {
      switch (step) {
        case Step::kRunWork:
          if (absl::Status s = stream.TakeWork()(execution); !s.ok()) return end(s);
          break;
        case Step::kWrite:
          responses->push_back(stream.NextResponse());
          stream.Written();
          break;
        case Step::kFinish:
          return end(absl::OkStatus());
        case Step::kRead:
          break;
      }
    }
    if (next >= messages.size()) {
      Fail("the stream asked for another message after the client's half-close");
    }
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
  if (absl::Status s = Admit(request); !s.ok()) return s;
  return server::HandleQuantize(request, Context(max_isa), metrics_, response);
}

absl::Status FuzzServer::Dequantize(const v1::DequantizeRequest& request, Isa max_isa,
                                    v1::DequantizeResponse* response) {
  if (absl::Status s = Admit(request); !s.ok()) return s;
  return server::HandleDequantize(request, Context(max_isa), metrics_, response);
}

absl::Status FuzzServer::MatMul(const v1::MatMulRequest& request, Isa max_isa,
                                v1::MatMulResponse* response) {
  if (absl::Status s = Admit(request); !s.ok()) return s;
  return server::HandleQuantizedMatMul(request, Context(max_isa), metrics_, response);
}

absl::Status FuzzServer::Analyze(const v1::AnalyzeRequest& request, Isa max_isa,
                                 v1::AnalyzeResponse* response) {
  if (absl::Status s = Admit(request); !s.ok()) return s;
  return server::HandleAnalyze(request, Context(max_isa), metrics_, response);
}

absl::Status FuzzServer::Calibrate(std::span<const v1::CalibrateRequest> stream, Isa max_isa,
                                   v1::CalibrateResponse* response) {
  // As server/calibrate_reactor.cc drives the session.
  const ExecutionContext execution = Context(max_isa);
  server::CalibrateSession session(metrics_);
  for (const v1::CalibrateRequest& message : stream) {
    if (absl::Status s = session.Receive(message); !s.ok()) return s;
    if (!message.has_batch()) continue;
    if (absl::Status s = session.Observe(message.batch(), execution); !s.ok()) return s;
  }
  return session.Respond(response);
}

absl::Status FuzzServer::QuantizeStream(std::span<const v1::QuantizeStreamRequest> stream,
                                        Isa max_isa,
                                        std::vector<v1::QuantizeStreamResponse>* responses) {
  auto handler = server::NewQuantizeTensorStream(kMaxBufferBytes, kSliceAlignment);
  return Drive(*handler, stream, Context(max_isa), responses);
}

absl::Status FuzzServer::DequantizeStream(std::span<const v1::DequantizeStreamRequest> stream,
                                          Isa max_isa,
                                          std::vector<v1::DequantizeStreamResponse>* responses) {
  auto handler = server::NewDequantizeTensorStream(kSliceAlignment);
  return Drive(*handler, stream, Context(max_isa), responses);
}

FuzzServer& Server() {
  static FuzzServer* server = new FuzzServer();
  return *server;
}

}  // namespace quantd::fuzz
