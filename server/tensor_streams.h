// QuantizeStream and DequantizeStream: tensors larger than one message,
// in chunks. With complete parameters (explicit ones; Dequantize always
// has them) the server works through a bounded window; when Quantize must
// take the range from the whole tensor it buffers it, up to
// --max_buffer_bytes, which a header claiming more is refused at once.
#ifndef QUANTD_SERVER_TENSOR_STREAMS_H_
#define QUANTD_SERVER_TENSOR_STREAMS_H_

#include <grpcpp/grpcpp.h>

#include "quantd/v1/quantd.grpc.pb.h"
#include "server/stream_reactor.h"

namespace quantd::server {

grpc::ServerBidiReactor<v1::QuantizeStreamRequest, v1::QuantizeStreamResponse>*
NewQuantizeStream(grpc::CallbackServerContext* context, const StreamEnvironment& env);

grpc::ServerBidiReactor<v1::DequantizeStreamRequest, v1::DequantizeStreamResponse>*
NewDequantizeStream(grpc::CallbackServerContext* context, const StreamEnvironment& env);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_TENSOR_STREAMS_H_
