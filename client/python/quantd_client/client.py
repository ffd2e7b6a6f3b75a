"""Client: the quantd.v1.Quantizer calls and the health check, over numpy
arrays and torch tensors."""

import grpc
import numpy as np

from . import enums, streaming
from ._stubs import health_pb2, health_pb2_grpc, pb, quantd_pb2_grpc
from .channel import make_channel, read_token
from .errors import QuantdError, message_too_large
from .operands import codes_proto, operand_proto
from .options import calibrate_options, candidate_options, options_keywords, quantize_options
from .params import params_proto
from .results import AnalyzeRow, CalibrateResult, MatMulResult, MatMulStats, QuantizeResult
from .stats import ErrorStats
from .stream_call import StreamCall
from .tensors import NUMPY, from_proto, to_proto

READINESS = "quantd.v1.Quantizer"
LIVENESS = ""
DEFAULT_MAX_MESSAGE_BYTES = 256 << 20  # The server's default --max_message_bytes.


class Client:
    """A connection to quantd; thread-safe, and a context manager that closes
    its channel.

    target             "host:port" or any gRPC target ("dns:///quantd:50051")
    timeout            seconds per call; None waits as long as the server takes
    max_message_bytes  largest message sent or received; quantize and
                       dequantize send larger tensors through the streaming
                       RPCs in chunks of up to 4 MiB (same results; quantize
                       then cannot return_dequantized; keep this at 4 MiB
                       or more, so that the server's answer chunks fit);
                       analyze and calibrate
                       batches above it raise QuantdError(RESOURCE_EXHAUSTED)
                       before anything is sent
    tls, tls_ca, tls_cert, tls_key, tls_server_name
                       TLS when tls=True or any tls_* is given: tls_ca the CA
                       to trust (None: the system's), tls_cert and tls_key a
                       client certificate for mutual TLS; each a path or PEM
                       bytes. tls_server_name is the name checked in the
                       server's certificate instead of the target's host.
    token, token_file  sent as "authorization: Bearer <token>" on every call
                       (quantd --auth_token_file); the file's content is
                       stripped of surrounding whitespace
    round_robin        spread calls over every address the target resolves to
                       (replicas behind a headless Service) instead of gRPC's
                       default pick_first
    """

    def __init__(self, target, *, timeout=None, max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES,
                 tls=False, tls_ca=None, tls_cert=None, tls_key=None, tls_server_name=None,
                 token=None, token_file=None, round_robin=False):
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be positive seconds or None, not %r" % (timeout,))
        token = read_token(token, token_file)
        self.target = target
        self.timeout = timeout
        self.max_message_bytes = int(max_message_bytes)
        self._metadata = (("authorization", "Bearer " + token),) if token else None
        self._channel = make_channel(target, max_message_bytes=self.max_message_bytes,
                                     round_robin=round_robin, tls=tls, tls_ca=tls_ca,
                                     tls_cert=tls_cert, tls_key=tls_key,
                                     tls_server_name=tls_server_name)
        self._stub = quantd_pb2_grpc.QuantizerStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check_size(self, request, what):
        size = request.ByteSize()
        if size > self.max_message_bytes:
            raise message_too_large(what, size, self.max_message_bytes)

    def _unary(self, method, request, what):
        self._check_size(request, what)
        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise QuantdError.from_rpc_error(e) from e

    def health(self, service=READINESS):
        """Whether `service` is SERVING: READINESS ("quantd.v1.Quantizer",
        NOT_SERVING while the server drains) or LIVENESS ("")."""
        response = self._unary(self._health.Check, health_pb2.HealthCheckRequest(service=service),
                               "HealthCheckRequest")
        return response.status == health_pb2.HealthCheckResponse.SERVING

    def quantize(self, x, dtype="int8", *, granularity="per_tensor", axis=0, group_size=0,
                 scheme=None, range_method=None, percentile=0.0, clip_min=None, clip_max=None,
                 full_range=False, scale_dtype=None, rounding=None, seed=0, params=None,
                 return_dequantized=False, max_error=None):
        """Quantizes x (numpy float32/float16/float64, or torch also bfloat16).

        dtype "int8", "uint8", "int4", "uint4", "nf4", "float8_e4m3fn",
        "float8_e5m2", "float4_e2m1", "ternary", "binary", "lut4", "lut8",
        "float16", "bfloat16", or "auto" with max_error (an ErrorBudget or a
        dict such as {"min_sqnr_db": 30}): the fewest bits meeting it.
        granularity "per_tensor", "per_channel" (axis) or "per_group" (axis,
        group_size). Unspecified (None) scheme, range_method and rounding take
        the server's defaults. params (a QuantParams, e.g. from calibrate)
        replaces the target and range options. Returns a QuantizeResult.
        """
        tensor, like = to_proto(x)
        options = quantize_options(
            dtype, scheme=scheme, granularity=granularity, axis=axis, group_size=group_size,
            full_range=full_range, scale_dtype=scale_dtype, range_method=range_method,
            percentile=percentile, clip_min=clip_min, clip_max=clip_max, rounding=rounding,
            seed=seed, params=params, max_error=max_error, return_dequantized=return_dequantized)
        request = pb.QuantizeRequest(input=tensor, options=options)
        if request.ByteSize() > self.max_message_bytes:
            response = streaming.quantize(self._stub, tensor, options,
                                          max_message_bytes=self.max_message_bytes,
                                          timeout=self.timeout, metadata=self._metadata)
        else:
            response = self._unary(self._stub.Quantize, request, "QuantizeRequest")
        return QuantizeResult(response, like)

    def dequantize(self, codes, params=None, output_dtype="float32"):
        """x' from quantized codes: a QuantizeResult (its params unless others
        are given), or unpacked codes (numpy or torch, as QuantizeResult.codes
        holds them) with their params, or a packed quantd.v1.Tensor.
        output_dtype "float32", "float16" or "bfloat16". Returns the type the
        codes came from (a result of a torch input, or torch codes: torch);
        bfloat16 is always torch, numpy having no such type."""
        like = NUMPY
        if isinstance(codes, QuantizeResult):
            tensor, like = codes.tensor_proto(), codes.like
            params = codes.params if params is None else params
        elif params is None:
            raise TypeError("dequantize needs params unless given a QuantizeResult")
        elif isinstance(codes, pb.Tensor):
            tensor = codes
        else:
            tensor, like = codes_proto(codes, params)
        output_dtype = enums.to_number(enums.DType, output_dtype, "output_dtype")
        request = pb.DequantizeRequest(input=tensor, params=params_proto(params), output_dtype=output_dtype)
        output_bytes = int(np.prod(tensor.shape, dtype=np.int64)) * (
            4 if output_dtype in (0, pb.DTYPE_FLOAT32) else 2)
        if max(request.ByteSize(), output_bytes) > self.max_message_bytes:
            output = streaming.dequantize(self._stub, tensor, request.params, output_dtype,
                                          max_message_bytes=self.max_message_bytes,
                                          timeout=self.timeout, metadata=self._metadata)
        else:
            output = self._unary(self._stub.Dequantize, request, "DequantizeRequest").output
        return from_proto(output, like)

    def matmul(self, a, b, *, b_params=None, a_params=None, transpose_b=False, bias=None,
               outlier_threshold=0.0, output_dtype=None, compute_reference_error=False):
        """Y = a @ b (+ bias) with the operands in 8 or 4 bits (QuantizedMatMul).

        a  activations [M, K]: a float array or tensor (quantized per row to
           INT8 by the server), or INT8/UINT8 codes with a_params.
        b  weights [K, N], or [N, K] with transpose_b (torch.nn.Linear.weight):
           a float array or tensor (quantized per output channel to INT8), or
           codes with b_params (INT8, UINT8, INT4, UINT4 per tensor, per
           output channel or per group along K; NF4), or a QuantizeResult.
        Codes are unpacked as QuantizeResult.codes holds them; params are
        QuantParams (or anything dequantize takes). bias: float [N].
        outlier_threshold: LLM.int8(), columns of a with any |value| >= it
        run in float (6.0 is usual; 0 = off). output_dtype "float32" (None),
        "float16" or "bfloat16". compute_reference_error also computes the
        float product and reports the error against it.
        Returns MatMulResult(output, stats): output is torch when a or b is a
        torch tensor (on its device), else numpy (bfloat16 always torch);
        stats.outlier_columns, and stats.error (ErrorStats) when asked, else None.
        """
        a_tensor, a_params, a_like = operand_proto(a, a_params, "a")
        b_tensor, b_params, b_like = operand_proto(b, b_params, "b")
        request = pb.MatMulRequest(
            a=a_tensor, b=b_tensor, transpose_b=transpose_b, outlier_threshold=outlier_threshold,
            output_dtype=enums.to_number(enums.DType, output_dtype, "output_dtype"),
            compute_reference_error=compute_reference_error)
        if a_params is not None:
            request.a_params.CopyFrom(a_params)
        if b_params is not None:
            request.b_params.CopyFrom(b_params)
        if bias is not None:
            request.bias.CopyFrom(to_proto(bias, "bias")[0])
        response = self._unary(self._stub.QuantizedMatMul, request, "MatMulRequest")
        like = a_like if a_like.torch or not b_like.torch else b_like
        return MatMulResult(output=from_proto(response.output, like),
                            stats=MatMulStats.from_proto(response.stats))

    def analyze(self, x, candidates=None):
        """The error and bits per element of each candidate format (dicts of
        quantize keywords), or of the server's default sweep when None.
        Returns a list of AnalyzeRow, in candidate order."""
        tensor, _ = to_proto(x)
        request = pb.AnalyzeRequest(input=tensor, candidates=[candidate_options(c) for c in candidates or ()])
        response = self._unary(self._stub.Analyze, request, "AnalyzeRequest")
        return [AnalyzeRow(options=options_keywords(row.options), bits_per_element=row.bits_per_element,
                           error=ErrorStats.from_proto(row.error), pareto=row.pareto)
                for row in response.rows]

    def calibrate(self, batches, method="minmax", dtype="int8", *, scheme=None, granularity="per_tensor",
                  axis=0, group_size=0, full_range=False, scale_dtype=None, num_bins=0, percentile=0.0,
                  averaging_constant=0.0, merge=()):
        """Calibrates a clipping range from `batches` (any iterable of float
        arrays or tensors, e.g. a generator: it is consumed as the server
        reads, so only the few batches in flight are in memory at once).

        method "minmax", "moving_average_minmax", "percentile", "entropy",
        "mse", "absmax" or "absmean"; the target keywords are quantize's.
        merge: states of earlier calibrations (CalibrateResult, its .state
        or .state_bytes) folded in first; with no batches, the states alone
        are combined. Returns a CalibrateResult (params, stats, state). An
        exception raised by `batches` cancels the call and propagates.
        """
        options = calibrate_options(
            method, dtype, scheme=scheme, granularity=granularity, axis=axis, group_size=group_size,
            full_range=full_range, scale_dtype=scale_dtype, num_bins=num_bins, percentile=percentile,
            averaging_constant=averaging_constant, merge=merge)
        call = StreamCall()

        def requests():
            try:
                first = pb.CalibrateRequest(options=options)
                self._check_size(first, "CalibrateRequest (options and merged states)")
                yield first
                for i, batch in enumerate(batches):
                    request = pb.CalibrateRequest(batch=to_proto(batch, "batch %d" % i)[0])
                    self._check_size(request, "CalibrateRequest (batch %d)" % i)
                    yield request
            except Exception as e:  # Cancel the call rather than end it early with a partial stream.
                call.fail(e)

        try:
            future = self._stub.Calibrate.future(requests(), timeout=self.timeout, metadata=self._metadata)
        except BaseException:
            call.start(None)
            raise
        call.start(future)
        return CalibrateResult.from_proto(call.result())
