"""Quantize and Dequantize of tensors too large for one message: the
QuantizeStream and DequantizeStream RPCs behind the same calls (API.md,
"Large tensors"). The answers are reassembled into the messages the unary
calls return, so the results are the same objects either way."""

import grpc

from ._stubs import pb
from .errors import QuantdError

CHUNK_BYTES = 4 << 20  # API.md: 1-4 MiB chunks are best.
FRAMING_BYTES = 64 << 10  # Room for a message's own fields around its chunk.


def _chunks(data, max_message_bytes):
    size = max(1, min(CHUNK_BYTES, max_message_bytes - FRAMING_BYTES))
    view = memoryview(data)
    for begin in range(0, len(view), size):
        yield bytes(view[begin:begin + size])


def _collect(responses):
    try:
        return list(responses)
    except grpc.RpcError as e:
        raise QuantdError.from_rpc_error(e) from e


def quantize(stub, tensor, options, *, max_message_bytes, timeout, metadata):
    """A QuantizeResponse for `tensor` sent in chunks."""
    if options.return_dequantized:
        raise QuantdError(grpc.StatusCode.INVALID_ARGUMENT,
                          "return_dequantized needs the tensor in one message: it is larger "
                          "than max_message_bytes, so it goes through QuantizeStream, which "
                          "answers codes only")
    header = pb.QuantizeStreamHeader(dtype=tensor.dtype, shape=tensor.shape, options=options)

    def requests():
        yield pb.QuantizeStreamRequest(header=header)
        for chunk in _chunks(tensor.data, max_message_bytes):
            yield pb.QuantizeStreamRequest(data=chunk)

    params, error, data = None, None, []
    for response in _collect(stub.QuantizeStream(requests(), timeout=timeout, metadata=metadata)):
        kind = response.WhichOneof("msg")
        if kind == "params":
            params = response.params
        elif kind == "data":
            data.append(response.data)
        elif kind == "error":
            error = response.error
    if params is None or error is None:
        raise QuantdError(grpc.StatusCode.INTERNAL,
                          "QuantizeStream ended without its params or its error statistics")
    output = pb.Tensor(dtype=params.dtype, shape=tensor.shape, data=b"".join(data))
    return pb.QuantizeResponse(output=output, params=params, error=error)


def dequantize(stub, tensor, params, output_dtype, *, max_message_bytes, timeout, metadata):
    """The output Tensor of dequantizing `tensor` sent in chunks."""
    header = pb.DequantizeStreamHeader(params=params, dtype=tensor.dtype, shape=tensor.shape,
                                       output_dtype=output_dtype)

    def requests():
        yield pb.DequantizeStreamRequest(header=header)
        for chunk in _chunks(tensor.data, max_message_bytes):
            yield pb.DequantizeStreamRequest(data=chunk)

    responses = _collect(stub.DequantizeStream(requests(), timeout=timeout, metadata=metadata))
    return pb.Tensor(dtype=output_dtype or pb.DTYPE_FLOAT32, shape=tensor.shape,
                     data=b"".join(r.data for r in responses))
