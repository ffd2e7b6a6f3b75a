// The server's RPCs without gRPC, for the fuzz targets: each message goes
// through what quantd runs on it (server/rpc_handlers.h and
// server/tensor_stream.h, the very functions the gRPC service calls), after
// the call gate's memory charge (server/held_bytes.h), with the gate's
// refusal emulated for charges above a fixed limit. Streams are driven
// step by step as the gRPC reactors drive them.
#ifndef QUANTD_TESTS_FUZZ_FUZZ_SERVER_H_
#define QUANTD_TESTS_FUZZ_FUZZ_SERVER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "quantd/execution.h"
#include "quantd/kernel_pool.h"
#include "quantd/v1/quantd.pb.h"
#include "server/metrics.h"

namespace quantd::fuzz {

// What the emulated gate admits per call (quantd's --max_server_memory_bytes
// is 2 GiB; fuzz inputs are small, and a call charged more is refused as
// the gate would refuse it, with RESOURCE_EXHAUSTED).
inline constexpr int64_t kMaxHeldBytes = int64_t{64} << 20;
// QuantizeStream's --max_buffer_bytes, small enough to be reached.
inline constexpr int64_t kMaxBufferBytes = int64_t{1} << 20;

class FuzzServer {
 public:
  FuzzServer();

  // `max_isa` caps the kernels, as quantd's --isa does.
  absl::Status Quantize(const v1::QuantizeRequest& request, Isa max_isa,
                        v1::QuantizeResponse* response);
  absl::Status Dequantize(const v1::DequantizeRequest& request, Isa max_isa,
                          v1::DequantizeResponse* response);
  absl::Status MatMul(const v1::MatMulRequest& request, Isa max_isa, v1::MatMulResponse* response);
  absl::Status Analyze(const v1::AnalyzeRequest& request, Isa max_isa,
                       v1::AnalyzeResponse* response);
  // A Calibrate stream: its messages in order, then the client's half-close.
  absl::Status Calibrate(std::span<const v1::CalibrateRequest> stream, Isa max_isa,
                         v1::CalibrateResponse* response);
  // The tensor streams: the messages in order, then the half-close;
  // `responses` gets what the server wrote, in order (also before an error).
  // Windows of one kSliceAlignment, so that small inputs span several.
  absl::Status QuantizeStream(std::span<const v1::QuantizeStreamRequest> stream, Isa max_isa,
                              std::vector<v1::QuantizeStreamResponse>* responses);
  absl::Status DequantizeStream(std::span<const v1::DequantizeStreamRequest> stream, Isa max_isa,
                                std::vector<v1::DequantizeStreamResponse>* responses);

  ExecutionContext Context(Isa max_isa);

 private:
  KernelPool pool_;
  server::Metrics metrics_;
};

// The process's one server: built on first use, never destroyed (the pool's
// threads outlive every input).
FuzzServer& Server();

}  // namespace quantd::fuzz

#endif  // QUANTD_TESTS_FUZZ_FUZZ_SERVER_H_
