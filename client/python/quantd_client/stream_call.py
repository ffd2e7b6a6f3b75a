"""A client-streaming call fed by a generator that may fail."""

import threading

import grpc

from .errors import QuantdError


class StreamCall:
    """A client-streaming call whose request generator may fail: the failure
    cancels the call (gRPC would otherwise log it and report UNKNOWN) and is
    raised in the caller's thread instead of a gRPC error."""

    def __init__(self):
        self._future = None
        self._started = threading.Event()
        self._failure = None

    def start(self, future):
        """`future` is the call, or None when it could not be started."""
        self._future = future
        self._started.set()

    def fail(self, exception):
        """Called from gRPC's request-consuming thread."""
        self._failure = exception
        self._started.wait()
        if self._future is not None:
            self._future.cancel()

    def result(self):
        try:
            response = self._future.result()
        except grpc.FutureCancelledError:
            if self._failure is not None:
                raise self._failure from None
            raise
        except grpc.RpcError as e:
            if self._failure is not None:
                raise self._failure from None
            raise QuantdError.from_rpc_error(e) from e
        except BaseException:  # KeyboardInterrupt: stop the server's work too.
            self._future.cancel()
            raise
        if self._failure is not None:  # Never a result of part of the batches.
            raise self._failure
        return response
