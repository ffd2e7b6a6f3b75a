"""QuantdError: what a call that quantd (or gRPC on the way) refused raises.

gRPC's own exception exposes the status through methods of a private class;
callers of this package catch one public type and read two attributes.
"""

import grpc


class QuantdError(Exception):
    """A failed call: `code` is the grpc.StatusCode (INVALID_ARGUMENT for a
    malformed request, UNAUTHENTICATED, RESOURCE_EXHAUSTED, UNAVAILABLE, ...),
    `details` the server's message, which names the field and the numbers."""

    def __init__(self, code, details):
        super().__init__("%s: %s" % (code.name, details))
        self.code = code
        self.details = details

    @classmethod
    def from_rpc_error(cls, error):
        """Wraps a grpc.RpcError raised by a stub call."""
        code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
        details = error.details() if callable(getattr(error, "details", None)) else str(error)
        return cls(code or grpc.StatusCode.UNKNOWN, details or "")


def message_too_large(what, size, limit):
    """The error for a message above the client's max_message_bytes that
    has no streaming form (Analyze, Calibrate batches), raised before
    sending: gRPC would refuse it with a less helpful message."""
    return QuantdError(grpc.StatusCode.RESOURCE_EXHAUSTED, (
        "the %s message is %d bytes, above max_message_bytes (%d): raise max_message_bytes "
        "(up to the server's --max_message_bytes) or split the tensor; only quantize and "
        "dequantize stream larger tensors") % (what, size, limit))
