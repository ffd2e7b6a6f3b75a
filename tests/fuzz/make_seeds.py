#!/usr/bin/python3
"""Writes the fuzz targets' seed corpus: tests/fuzz/corpus/<target>/<name>.

Valid requests for every dtype family, granularity, range method and scale
dtype, QuantizedMatMul on both integer paths, with NF4 weights, outliers
and bias, and a few malformed ones, as serialized messages (the streaming
targets, Calibrate, QuantizeStream and DequantizeStream, take the messages
of one call: see stream_input.h). Files named regression-*
are inputs that once failed, kept by hand: this script leaves them alone.
Needs Debian's protoc, python3-protobuf and python3-numpy.
Usage: make_seeds.py [OUT_DIR]
"""
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"


def load_proto():
    out = tempfile.mkdtemp()
    subprocess.run(["protoc", f"--proto_path={PROTO_DIR}", f"--python_out={out}",
                    "quantd/v1/quantd.proto"], check=True)
    sys.path.insert(0, out)
    from quantd.v1 import quantd_pb2
    return quantd_pb2


pb = load_proto()
RNG = np.random.default_rng(7)


def floats(shape, dtype=np.float32, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


def tensor(array, wire_dtype=None):
    """A Tensor message of a float array (FLOAT32, FLOAT16, FLOAT64, or BFLOAT16 from float32)."""
    names = {np.dtype(np.float32): pb.DTYPE_FLOAT32, np.dtype(np.float16): pb.DTYPE_FLOAT16,
             np.dtype(np.float64): pb.DTYPE_FLOAT64}
    if wire_dtype == pb.DTYPE_BFLOAT16:
        bits = array.astype(np.float32).view(np.uint32) >> 16
        data = bits.astype("<u2").tobytes()
    else:
        wire_dtype = names[array.dtype]
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
    return pb.Tensor(dtype=wire_dtype, shape=list(array.shape), data=data)


def packed(dtype, shape, bits):
    """A quantized Tensor of random codes, packed as API.md says."""
    count = int(np.prod(shape))
    nbytes = (count * bits + 7) // 8
    return pb.Tensor(dtype=dtype, shape=list(shape), data=RNG.integers(0, 256, nbytes, dtype=np.uint8).tobytes())


class Corpus:
    def __init__(self, root, target):
        self.dir = root / target
        self.dir.mkdir(parents=True, exist_ok=True)

    def add(self, name, message):
        (self.dir / name).write_bytes(message.SerializeToString())


def quantize_seeds(c):
    x = floats((4, 24))
    Q, O = pb.QuantizeRequest, pb.QuantizeOptions
    for name, dtype in [("float32", None), ("float16", None), ("float64", None), ("bfloat16", pb.DTYPE_BFLOAT16)]:
        arr = {"float16": x.astype(np.float16), "float64": x.astype(np.float64)}.get(name, x)
        c.add(f"int8-{name}-input", Q(input=tensor(arr, dtype), options=O(dtype=pb.DTYPE_INT8)))
    targets = [
        ("int8-asym-per-channel", O(dtype=pb.DTYPE_INT8, scheme=pb.SCHEME_ASYMMETRIC,
                                    granularity=pb.GRANULARITY_PER_CHANNEL, axis=0)),
        ("uint8-minmax", O(dtype=pb.DTYPE_UINT8)),
        ("uint8-symmetric", O(dtype=pb.DTYPE_UINT8, scheme=pb.SCHEME_SYMMETRIC)),
        ("int4-per-group-short-block", O(dtype=pb.DTYPE_INT4, granularity=pb.GRANULARITY_PER_GROUP,
                                         axis=-1, group_size=7, full_range=True)),
        ("uint4-per-channel-last-axis", O(dtype=pb.DTYPE_UINT4, granularity=pb.GRANULARITY_PER_CHANNEL, axis=-1)),
        ("nf4-per-group", O(dtype=pb.DTYPE_NF4, granularity=pb.GRANULARITY_PER_GROUP, axis=1, group_size=8)),
        ("fp8-e4m3-e8m0", O(dtype=pb.DTYPE_FLOAT8_E4M3FN, granularity=pb.GRANULARITY_PER_GROUP, axis=-1,
                            group_size=8, scale_dtype=pb.DTYPE_E8M0)),
        ("fp8-e5m2-floor", O(dtype=pb.DTYPE_FLOAT8_E5M2, rounding=pb.ROUNDING_FLOOR)),
        ("fp4-stochastic", O(dtype=pb.DTYPE_FLOAT4_E2M1, rounding=pb.ROUNDING_STOCHASTIC, seed=12345)),
        ("float16-cast", O(dtype=pb.DTYPE_FLOAT16, return_dequantized=True)),
        ("bfloat16-scaled", O(dtype=pb.DTYPE_BFLOAT16, range_method=pb.RANGE_METHOD_ABSMAX)),
        ("ternary-absmean", O(dtype=pb.DTYPE_TERNARY)),
        ("ternary-absmax", O(dtype=pb.DTYPE_TERNARY, range_method=pb.RANGE_METHOD_ABSMAX)),
        ("binary", O(dtype=pb.DTYPE_BINARY, return_dequantized=True)),
        ("lut4-kmeans-per-channel", O(dtype=pb.DTYPE_LUT4, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0)),
        ("lut8-log2", O(dtype=pb.DTYPE_LUT8, range_method=pb.RANGE_METHOD_LOG2)),
        ("int8-percentile", O(dtype=pb.DTYPE_INT8, range_method=pb.RANGE_METHOD_PERCENTILE, percentile=99.0)),
        ("uint8-percentile", O(dtype=pb.DTYPE_UINT8, range_method=pb.RANGE_METHOD_PERCENTILE)),
        ("int8-entropy", O(dtype=pb.DTYPE_INT8, range_method=pb.RANGE_METHOD_ENTROPY)),
        ("int4-mse-fp16-scales", O(dtype=pb.DTYPE_INT4, range_method=pb.RANGE_METHOD_MSE,
                                   scale_dtype=pb.DTYPE_FLOAT16)),
        ("uint8-mse", O(dtype=pb.DTYPE_UINT8, range_method=pb.RANGE_METHOD_MSE,
                        granularity=pb.GRANULARITY_PER_CHANNEL, axis=0)),
        ("int8-clip", O(dtype=pb.DTYPE_INT8, clip_min=-0.5, clip_max=2.0,
                        rounding=pb.ROUNDING_HALF_AWAY_FROM_ZERO, return_dequantized=True)),
        ("auto-sqnr", O(dtype=pb.DTYPE_AUTO, max_error=pb.ErrorBudget(min_sqnr_db=20))),
        ("auto-unmet", O(dtype=pb.DTYPE_AUTO, max_error=pb.ErrorBudget(max_abs_error=0, min_cosine_similarity=1))),
        ("explicit-int8-asym", O(params=pb.QuantParams(
            dtype=pb.DTYPE_INT8, scheme=pb.SCHEME_ASYMMETRIC, granularity=pb.GRANULARITY_PER_CHANNEL,
            axis=0, scales=[0.02, 0.03, 0.01, 0.05], zero_points=[0, -3, 7, 127]), return_dequantized=True)),
        ("explicit-lut4", O(params=pb.QuantParams(
            dtype=pb.DTYPE_LUT4, scales=[0.5], codebook=list(np.linspace(-4, 4, 16))))),
    ]
    for name, options in targets:
        c.add(name, Q(input=tensor(x), options=options))
    c.add("scalar", Q(input=tensor(np.array(1.5, np.float32)), options=O(dtype=pb.DTYPE_INT8)))
    c.add("all-zero", Q(input=tensor(np.zeros((3, 5), np.float32)), options=O(dtype=pb.DTYPE_UINT8)))
    c.add("empty-per-channel", Q(input=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[0, 300]),
                                 options=O(dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL, axis=1)))
    # Two blocks of the kernels' 64K elements, so that the pool's helper takes part.
    c.add("two-blocks-float16", Q(input=tensor(floats((2, 33000)).astype(np.float16)),
                                  options=O(dtype=pb.DTYPE_INT4, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0)))
    # Malformed.
    bad = Q(input=tensor(x), options=O(dtype=pb.DTYPE_INT8))
    bad.input.data = bad.input.data[:-1]
    c.add("bad-short-data", bad)
    c.add("bad-claims-2^40", Q(input=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[1 << 20, 1 << 20], data=b"\0" * 8),
                               options=O(dtype=pb.DTYPE_INT8)))
    c.add("bad-negative-dim", Q(input=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[-1, 2]), options=O(dtype=pb.DTYPE_INT8)))
    nan = x.copy()
    nan[1, 2] = np.nan
    c.add("bad-nan", Q(input=tensor(nan), options=O(dtype=pb.DTYPE_INT8)))
    c.add("bad-axis", Q(input=tensor(x), options=O(dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL, axis=5)))
    c.add("bad-group-size", Q(input=tensor(x), options=O(dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_GROUP)))
    c.add("bad-enum", Q(input=tensor(x), options=O(dtype=77)))
    c.add("bad-scale", Q(input=tensor(x), options=O(params=pb.QuantParams(dtype=pb.DTYPE_INT8, scales=[0.0]))))


def dequantize_seeds(c):
    D, P = pb.DequantizeRequest, pb.QuantParams
    shape = (4, 24)
    families = [
        (pb.DTYPE_INT8, 8, {}), (pb.DTYPE_UINT8, 8, {"scheme": pb.SCHEME_ASYMMETRIC}),
        (pb.DTYPE_INT4, 4, {}), (pb.DTYPE_UINT4, 4, {"scheme": pb.SCHEME_ASYMMETRIC}),
        (pb.DTYPE_NF4, 4, {}), (pb.DTYPE_FLOAT8_E4M3FN, 8, {}), (pb.DTYPE_FLOAT8_E5M2, 8, {}),
        (pb.DTYPE_FLOAT4_E2M1, 4, {}), (pb.DTYPE_FLOAT16, 16, {}), (pb.DTYPE_BFLOAT16, 16, {}),
        (pb.DTYPE_TERNARY, 2, {}), (pb.DTYPE_BINARY, 1, {}),
    ]
    for dtype, bits, extra in families:
        name = pb.DType.Name(dtype).removeprefix("DTYPE_").lower()
        asym = extra.get("scheme") == pb.SCHEME_ASYMMETRIC
        zp = {"zero_points": [3]} if asym else {}
        c.add(f"{name}-per-tensor", D(input=packed(dtype, shape, bits), params=P(dtype=dtype, scales=[0.1], **extra, **zp)))
        zp4 = {"zero_points": [0, 1, 2, 3]} if asym else {}
        c.add(f"{name}-per-channel-bf16", D(input=packed(dtype, shape, bits), output_dtype=pb.DTYPE_BFLOAT16,
                                             params=P(dtype=dtype, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0,
                                                      scales=[0.1, 0.2, 0.4, 0.8], **extra, **zp4)))
        zpg = {"zero_points": [1] * 16} if asym else {}
        c.add(f"{name}-per-group-fp16", D(input=packed(dtype, shape, bits), output_dtype=pb.DTYPE_FLOAT16,
                                           params=P(dtype=dtype, granularity=pb.GRANULARITY_PER_GROUP, axis=-1,
                                                    group_size=7, scales=[0.25] * 16, **extra, **zpg)))
    c.add("int8-e8m0", D(input=packed(pb.DTYPE_INT8, shape, 8), params=P(
        dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_GROUP, axis=1, group_size=32,
        scale_dtype=pb.DTYPE_E8M0, scales=[2.0 ** -k for k in range(4)])))
    c.add("int4-fp16-scales", D(input=packed(pb.DTYPE_INT4, shape, 4), params=P(
        dtype=pb.DTYPE_INT4, scale_dtype=pb.DTYPE_FLOAT16, scales=[0.099975586])))
    c.add("lut4-per-channel", D(input=packed(pb.DTYPE_LUT4, shape, 4), params=P(
        dtype=pb.DTYPE_LUT4, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0, scales=[1, 2, 3, 4],
        codebook=list(np.tile(np.linspace(-1, 1, 16), 4)))))
    c.add("lut8", D(input=packed(pb.DTYPE_LUT8, shape, 8), params=P(
        dtype=pb.DTYPE_LUT8, scales=[0.5], codebook=list(np.linspace(-8, 8, 256)))))
    # Two blocks of 64K elements in 16 KiB.
    c.add("binary-two-blocks", D(input=packed(pb.DTYPE_BINARY, (131072,), 1), params=P(dtype=pb.DTYPE_BINARY, scales=[1.0])))
    c.add("scalar", D(input=packed(pb.DTYPE_INT8, (), 8), params=P(dtype=pb.DTYPE_INT8, scales=[2.0])))
    c.add("empty", D(input=pb.Tensor(dtype=pb.DTYPE_INT4, shape=[0, 7]), params=P(
        dtype=pb.DTYPE_INT4, granularity=pb.GRANULARITY_PER_CHANNEL, axis=1, scales=[1.0] * 7)))
    # Malformed.
    c.add("bad-dtype-mismatch", D(input=packed(pb.DTYPE_INT8, shape, 8), params=P(dtype=pb.DTYPE_INT4, scales=[1.0])))
    c.add("bad-scale-count", D(input=packed(pb.DTYPE_INT8, shape, 8), params=P(
        dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL, scales=[1.0, 2.0])))
    c.add("bad-zero-point", D(input=packed(pb.DTYPE_UINT8, shape, 8), params=P(
        dtype=pb.DTYPE_UINT8, scheme=pb.SCHEME_ASYMMETRIC, scales=[1.0], zero_points=[256])))
    c.add("bad-e8m0", D(input=packed(pb.DTYPE_INT8, shape, 8), params=P(
        dtype=pb.DTYPE_INT8, scale_dtype=pb.DTYPE_E8M0, scales=[0.3])))
    c.add("bad-codebook-order", D(input=packed(pb.DTYPE_LUT4, shape, 4), params=P(
        dtype=pb.DTYPE_LUT4, scales=[1.0], codebook=list(np.linspace(1, -1, 16)))))
    c.add("bad-claims", D(input=pb.Tensor(dtype=pb.DTYPE_BINARY, shape=[1 << 30, 1 << 10], data=b"\xff" * 4),
                          params=P(dtype=pb.DTYPE_BINARY, scales=[1.0])))


def matmul_seeds(c):
    M, P = pb.MatMulRequest, pb.QuantParams

    def codes(dtype, shape, bits):
        return packed(dtype, shape, bits)

    a = tensor(floats((6, 64)))
    c.add("float-float-packed", M(a=a, b=tensor(floats((64, 24)))))
    c.add("float-float-transposed-bias", M(a=tensor(floats((3, 40))), b=tensor(floats((16, 40))), transpose_b=True,
                                           bias=tensor(floats((16,)))))
    c.add("float16-bfloat16-output", M(a=tensor(floats((5, 32)).astype(np.float16)),
                                       b=tensor(floats((32, 8)), pb.DTYPE_BFLOAT16),
                                       output_dtype=pb.DTYPE_BFLOAT16, compute_reference_error=True))
    c.add("int8-weights-per-channel", M(a=a, b=codes(pb.DTYPE_INT8, (64, 16), 8), b_params=P(
        dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL, axis=1, scales=list(np.linspace(0.01, 0.05, 16))),
        compute_reference_error=True))
    c.add("uint8-weights-asymmetric", M(a=a, b=codes(pb.DTYPE_UINT8, (64, 8), 8), b_params=P(
        dtype=pb.DTYPE_UINT8, scheme=pb.SCHEME_ASYMMETRIC, scales=[0.02], zero_points=[128]),
        output_dtype=pb.DTYPE_FLOAT16))
    c.add("int4-weights-per-group-k", M(a=a, b=codes(pb.DTYPE_INT4, (64, 16), 4), b_params=P(
        dtype=pb.DTYPE_INT4, granularity=pb.GRANULARITY_PER_GROUP, axis=0, group_size=32, scales=[0.1] * 32)))
    # Up to 4 rows and [N, K] weights: the direct path.
    c.add("decode-int8-direct", M(a=tensor(floats((1, 128))), b=codes(pb.DTYPE_INT8, (32, 128), 8), transpose_b=True,
                                  b_params=P(dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0,
                                             scales=[0.02] * 32)))
    c.add("decode-uint4-direct-groups", M(a=tensor(floats((4, 64))), b=codes(pb.DTYPE_UINT4, (8, 64), 4),
                                          transpose_b=True, b_params=P(
                                              dtype=pb.DTYPE_UINT4, scheme=pb.SCHEME_ASYMMETRIC,
                                              granularity=pb.GRANULARITY_PER_GROUP, axis=1, group_size=16,
                                              scales=[0.1] * 32, zero_points=[8] * 32)))
    c.add("nf4-weights", M(a=tensor(floats((5, 64))), b=codes(pb.DTYPE_NF4, (16, 64), 4), transpose_b=True,
                           b_params=P(dtype=pb.DTYPE_NF4, granularity=pb.GRANULARITY_PER_GROUP, axis=1,
                                      group_size=32, scales=[0.5] * 32), compute_reference_error=True))
    c.add("quantized-a-int8", M(a=codes(pb.DTYPE_INT8, (5, 32), 8), a_params=P(dtype=pb.DTYPE_INT8, scales=[0.05]),
                                b=codes(pb.DTYPE_INT8, (32, 8), 8), b_params=P(dtype=pb.DTYPE_INT8, scales=[0.02])))
    c.add("quantized-a-uint8-per-row", M(a=codes(pb.DTYPE_UINT8, (5, 32), 8), a_params=P(
        dtype=pb.DTYPE_UINT8, scheme=pb.SCHEME_ASYMMETRIC, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0,
        scales=[0.05] * 5, zero_points=[100, 120, 128, 90, 0]), b=tensor(floats((32, 8)))))
    outliers = floats((8, 64))
    outliers[:, 5] *= 40
    outliers[2, 17] = -30
    c.add("outliers", M(a=tensor(outliers), b=tensor(floats((64, 16))), outlier_threshold=6.0,
                        compute_reference_error=True))
    c.add("outliers-int4-weights", M(a=tensor(outliers), b=codes(pb.DTYPE_INT4, (64, 16), 4), outlier_threshold=6.0,
                                     b_params=P(dtype=pb.DTYPE_INT4, scales=[0.1])))
    c.add("empty-k", M(a=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[3, 0]), b=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[0, 5])))
    c.add("empty-m", M(a=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[0, 8]), b=tensor(floats((8, 4)))))
    # Several of the packed kernels' tiles and blocks.
    c.add("tiles", M(a=tensor(floats((100, 40))), b=codes(pb.DTYPE_INT8, (40, 40), 8),
                     b_params=P(dtype=pb.DTYPE_INT8, scales=[0.03])))
    # Malformed.
    c.add("bad-k-mismatch", M(a=tensor(floats((2, 8))), b=tensor(floats((9, 4)))))
    nan = floats((2, 8))
    nan[1, 3] = np.nan
    c.add("bad-nan", M(a=tensor(nan), b=tensor(floats((8, 4)))))
    c.add("bad-rank", M(a=tensor(floats((2, 2, 8))), b=tensor(floats((8, 4)))))
    c.add("bad-b-params-axis", M(a=a, b=codes(pb.DTYPE_INT8, (64, 16), 8), b_params=P(
        dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_GROUP, axis=1, group_size=4, scales=[1.0] * 256)))
    c.add("bad-claims-output", M(a=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[1 << 20, 0]),
                                 b=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[0, 1 << 20])))


def analyze_seeds(c):
    A, O = pb.AnalyzeRequest, pb.QuantizeOptions
    c.add("default-sweep", A(input=tensor(floats((4, 64)))))
    c.add("default-sweep-bfloat16", A(input=tensor(floats((2, 3, 40)), pb.DTYPE_BFLOAT16)))
    c.add("scalar", A(input=tensor(np.array(-2.0, np.float64))))
    c.add("candidates", A(input=tensor(floats((8, 16)).astype(np.float16)), candidates=[
        O(dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL, axis=1),
        O(dtype=pb.DTYPE_LUT4, range_method=pb.RANGE_METHOD_KMEANS),
        O(dtype=pb.DTYPE_UINT4, granularity=pb.GRANULARITY_PER_GROUP, axis=0, group_size=3),
        O(dtype=pb.DTYPE_INT8, range_method=pb.RANGE_METHOD_ENTROPY),
        O(params=pb.QuantParams(dtype=pb.DTYPE_INT8, scales=[0.01])),
    ]))
    c.add("empty", A(input=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[0, 64])))
    c.add("bad-auto-candidate", A(input=tensor(floats((4, 4))), candidates=[O(dtype=pb.DTYPE_AUTO)]))
    c.add("bad-dtype", A(input=packed(pb.DTYPE_INT8, (4, 4), 8)))


def stream(messages):
    """A streaming target's input: each message as field 1, length-delimited."""
    out = bytearray()
    for m in messages:
        body = m.SerializeToString()
        out += b"\x0a"
        n = len(body)
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
            n >>= 7
            if n == 0:
                break
        out += body
    return bytes(out)


def calibrate_seeds(root):
    d = root / "calibrate"
    d.mkdir(parents=True, exist_ok=True)
    C, R = pb.CalibrateOptions, pb.CalibrateRequest

    def add(name, messages):
        (d / name).write_bytes(stream(messages))

    batches = [R(batch=tensor(floats((4, 16), scale=s))) for s in (1.0, 3.0)]
    methods = ["MINMAX", "MOVING_AVERAGE_MINMAX", "PERCENTILE", "ENTROPY", "MSE", "ABSMAX", "ABSMEAN"]
    for method in methods:
        options = C(method=getattr(pb, f"RANGE_METHOD_{method}"), dtype=pb.DTYPE_INT8, num_bins=64)
        add(f"{method.lower()}-int8", [R(options=options)] + batches)
    add("uint8-per-channel", [R(options=C(method=pb.RANGE_METHOD_PERCENTILE, dtype=pb.DTYPE_UINT8,
                                          granularity=pb.GRANULARITY_PER_CHANNEL, axis=0, num_bins=16))] + batches)
    add("int4-per-group-e8m0", [R(options=C(method=pb.RANGE_METHOD_MSE, dtype=pb.DTYPE_INT4,
                                            granularity=pb.GRANULARITY_PER_GROUP, axis=-1, group_size=5,
                                            scale_dtype=pb.DTYPE_E8M0))] + batches)
    add("fp8-float16-batches", [R(options=C(method=pb.RANGE_METHOD_ENTROPY, dtype=pb.DTYPE_FLOAT8_E4M3FN)),
                                R(batch=tensor(floats((3, 7)).astype(np.float16))),
                                R(batch=tensor(floats((3, 7)), pb.DTYPE_BFLOAT16))])
    add("nf4-float64", [R(options=C(dtype=pb.DTYPE_NF4, method=pb.RANGE_METHOD_ABSMAX)),
                        R(batch=tensor(floats((2, 9)).astype(np.float64)))])
    # States to merge, in the form the server writes them: per-slot minima
    # and maxima and, for histogram methods, 4 x num_bins fine bins over
    # [-2^k, 2^k].
    minmax = C(method=pb.RANGE_METHOD_MINMAX, dtype=pb.DTYPE_INT8)
    state = pb.CalibrationState(version=1, options=C(method=pb.RANGE_METHOD_MINMAX, dtype=pb.DTYPE_INT8,
                                                     scheme=pb.SCHEME_SYMMETRIC,
                                                     granularity=pb.GRANULARITY_PER_TENSOR,
                                                     scale_dtype=pb.DTYPE_FLOAT32, num_bins=2048,
                                                     percentile=99.99, averaging_constant=0.01),
                                observed_min=[-1.5], observed_max=[2.0], values_seen=64, batches_seen=1,
                                resolved_axis=0)
    merged = C()
    merged.CopyFrom(minmax)
    merged.merge.append(state)
    add("merge-minmax", [R(options=merged)] + batches[:1])
    counts = [0] * 64
    counts[30], counts[33], counts[40] = 5, 7, 1
    hist_state = pb.CalibrationState(version=1, options=C(method=pb.RANGE_METHOD_PERCENTILE, dtype=pb.DTYPE_INT8,
                                                          scheme=pb.SCHEME_SYMMETRIC,
                                                          granularity=pb.GRANULARITY_PER_TENSOR,
                                                          scale_dtype=pb.DTYPE_FLOAT32, num_bins=16,
                                                          percentile=99.99, averaging_constant=0.01),
                                     observed_min=[-0.2], observed_max=[0.6], values_seen=13, batches_seen=1,
                                     resolved_axis=0,
                                     histograms=[pb.CalibrationHistogram(lo=-1.0, hi=1.0, counts=counts)])
    merged = C(method=pb.RANGE_METHOD_PERCENTILE, dtype=pb.DTYPE_INT8, num_bins=16)
    merged.merge.append(hist_state)
    add("merge-percentile-only", [R(options=merged)])
    merged.merge.append(hist_state)
    add("merge-percentile-twice-then-batch", [R(options=merged)] + batches)
    # Malformed.
    add("bad-no-options", batches)
    add("bad-options-twice", [R(options=minmax), R(options=minmax)])
    add("bad-channel-change", [R(options=C(dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL)),
                               R(batch=tensor(floats((4, 3)))), R(batch=tensor(floats((5, 3))))])
    add("bad-num-bins", [R(options=C(method=pb.RANGE_METHOD_PERCENTILE, dtype=pb.DTYPE_INT8, num_bins=3))] + batches)
    nan = floats((2, 2))
    nan[0, 1] = np.inf
    add("bad-inf", [R(options=minmax), R(batch=tensor(nan))])


def chunks(data, *sizes):
    """`data` cut at the given sizes (the rest in the last chunk)."""
    out, at = [], 0
    for n in sizes:
        out.append(data[at:at + n])
        at += n
    out.append(data[at:])
    return out


def quantize_stream_seeds(root):
    d = root / "quantize_stream"
    d.mkdir(parents=True, exist_ok=True)
    H, R, O, P = pb.QuantizeStreamHeader, pb.QuantizeStreamRequest, pb.QuantizeOptions, pb.QuantParams

    def add(name, messages):
        (d / name).write_bytes(stream(messages))

    def call(x, options, *cuts, wire_dtype=None):
        t = tensor(x, wire_dtype)
        return [R(header=H(dtype=t.dtype, shape=t.shape, options=options))] + [R(data=b) for b in chunks(t.data, *cuts)]

    x = floats((4, 24))
    # Buffered: the range comes from the whole tensor.
    add("buffered-int8", call(x, O(dtype=pb.DTYPE_INT8), 100, 7))
    add("buffered-uint8-per-channel", call(x, O(dtype=pb.DTYPE_UINT8, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0), 200))
    add("buffered-int4-per-group-mse", call(x.astype(np.float16), O(
        dtype=pb.DTYPE_INT4, granularity=pb.GRANULARITY_PER_GROUP, axis=-1, group_size=5,
        range_method=pb.RANGE_METHOD_MSE), 64))
    add("buffered-fp8-e8m0", call(x, O(dtype=pb.DTYPE_FLOAT8_E4M3FN, granularity=pb.GRANULARITY_PER_GROUP, axis=-1,
                                       group_size=8, scale_dtype=pb.DTYPE_E8M0), wire_dtype=pb.DTYPE_BFLOAT16))
    add("buffered-lut4-kmeans", call(x.astype(np.float64), O(dtype=pb.DTYPE_LUT4), 300))
    add("buffered-ternary", call(x, O(dtype=pb.DTYPE_TERNARY)))
    # Explicit params: the bounded window.
    add("windowed-int8-per-channel", call(x, O(params=P(
        dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0, scales=[0.01, 0.02, 0.03, 0.04])), 17, 33))
    add("windowed-uint4-asymmetric", call(x, O(params=P(
        dtype=pb.DTYPE_UINT4, scheme=pb.SCHEME_ASYMMETRIC, scales=[0.3], zero_points=[7]))))
    add("windowed-nf4-per-group", call(x, O(params=P(
        dtype=pb.DTYPE_NF4, granularity=pb.GRANULARITY_PER_GROUP, axis=-1, group_size=12, scales=[1.5] * 8)), 40))
    add("windowed-binary", call(x, O(params=P(dtype=pb.DTYPE_BINARY, scales=[0.8]))))
    # More than one window of 64K elements; stochastic rounding by flat index.
    big = floats((2, 36000)).astype(np.float16)
    add("two-windows-int4-stochastic", call(big, O(params=P(dtype=pb.DTYPE_INT4, scales=[0.4]),
                                                   rounding=pb.ROUNDING_STOCHASTIC, seed=9), 70000, 50000))
    add("scalar", call(np.array(3.0, np.float32), O(dtype=pb.DTYPE_INT8)))
    add("empty", [R(header=H(dtype=pb.DTYPE_FLOAT32, shape=[0, 5], options=O(dtype=pb.DTYPE_INT8)))])
    # Malformed or refused.
    add("bad-over-buffer-limit", [R(header=H(dtype=pb.DTYPE_FLOAT32, shape=[1 << 20], options=O(dtype=pb.DTYPE_INT8))),
                                  R(data=b"\0" * 64)])
    add("bad-no-header", [R(data=tensor(x).data)])
    add("bad-header-twice", call(x, O(dtype=pb.DTYPE_INT8))[:1] * 2)
    add("bad-short", call(x, O(dtype=pb.DTYPE_INT8), 100)[:-1])
    add("bad-long", call(x, O(dtype=pb.DTYPE_INT8)) + [R(data=b"\0" * 4)])
    add("bad-auto", call(x, O(dtype=pb.DTYPE_AUTO, max_error=pb.ErrorBudget(min_sqnr_db=20))))
    add("bad-return-dequantized", call(x, O(dtype=pb.DTYPE_INT8, return_dequantized=True)))
    nan = x.copy()
    nan[3, 3] = np.inf
    add("bad-inf-windowed", call(nan, O(params=P(dtype=pb.DTYPE_INT8, scales=[0.1]))))


def dequantize_stream_seeds(root):
    d = root / "dequantize_stream"
    d.mkdir(parents=True, exist_ok=True)
    H, R, P = pb.DequantizeStreamHeader, pb.DequantizeStreamRequest, pb.QuantParams

    def add(name, messages):
        (d / name).write_bytes(stream(messages))

    def call(t, params, output_dtype=0, *cuts):
        return ([R(header=H(params=params, dtype=t.dtype, shape=t.shape, output_dtype=output_dtype))] +
                [R(data=b) for b in chunks(t.data, *cuts)])

    shape = (4, 24)
    add("int8-per-tensor", call(packed(pb.DTYPE_INT8, shape, 8), P(dtype=pb.DTYPE_INT8, scales=[0.1]), 0, 10, 20))
    add("uint8-per-channel-fp16", call(packed(pb.DTYPE_UINT8, shape, 8), P(
        dtype=pb.DTYPE_UINT8, scheme=pb.SCHEME_ASYMMETRIC, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0,
        scales=[0.1, 0.2, 0.3, 0.4], zero_points=[0, 10, 128, 255]), pb.DTYPE_FLOAT16, 50))
    add("int4-per-group-bf16", call(packed(pb.DTYPE_INT4, shape, 4), P(
        dtype=pb.DTYPE_INT4, granularity=pb.GRANULARITY_PER_GROUP, axis=-1, group_size=7, scales=[0.25] * 16),
        pb.DTYPE_BFLOAT16, 3))
    add("nf4", call(packed(pb.DTYPE_NF4, shape, 4), P(dtype=pb.DTYPE_NF4, scales=[2.0])))
    add("fp8-e5m2-e8m0", call(packed(pb.DTYPE_FLOAT8_E5M2, shape, 8), P(
        dtype=pb.DTYPE_FLOAT8_E5M2, granularity=pb.GRANULARITY_PER_GROUP, axis=1, group_size=8,
        scale_dtype=pb.DTYPE_E8M0, scales=[2.0 ** k for k in range(-6, 6)])))
    add("fp4", call(packed(pb.DTYPE_FLOAT4_E2M1, shape, 4), P(dtype=pb.DTYPE_FLOAT4_E2M1, scales=[0.5]), 0, 1))
    add("lut4-per-channel", call(packed(pb.DTYPE_LUT4, shape, 4), P(
        dtype=pb.DTYPE_LUT4, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0, scales=[1, 2, 3, 4],
        codebook=list(np.tile(np.linspace(-1, 1, 16), 4)))))
    add("ternary", call(packed(pb.DTYPE_TERNARY, shape, 2), P(dtype=pb.DTYPE_TERNARY, scales=[0.7])))
    add("bfloat16-cast", call(packed(pb.DTYPE_BFLOAT16, shape, 16), P(dtype=pb.DTYPE_BFLOAT16, scales=[1.0])))
    # Three windows of 64K elements in 24 KiB.
    add("binary-three-windows", call(packed(pb.DTYPE_BINARY, (3 * 65536 - 8,), 1), P(dtype=pb.DTYPE_BINARY, scales=[1.0]),
                                     0, 5000, 9000))
    add("empty", call(pb.Tensor(dtype=pb.DTYPE_INT8, shape=[0, 3]), P(dtype=pb.DTYPE_INT8, scales=[1.0])))
    # Malformed.
    int8 = packed(pb.DTYPE_INT8, shape, 8)
    add("bad-dtype-mismatch", call(int8, P(dtype=pb.DTYPE_INT4, scales=[1.0])))
    add("bad-no-header", [R(data=int8.data)])
    add("bad-short", call(int8, P(dtype=pb.DTYPE_INT8, scales=[1.0]), 0, 10)[:-1])
    add("bad-long", call(int8, P(dtype=pb.DTYPE_INT8, scales=[1.0])) + [R(data=b"\1")])
    add("bad-header-twice", call(int8, P(dtype=pb.DTYPE_INT8, scales=[1.0]))[:1] * 2)
    add("bad-claims", [R(header=H(params=P(dtype=pb.DTYPE_BINARY, scales=[1.0]), dtype=pb.DTYPE_BINARY,
                                  shape=[1 << 40, 1 << 20])), R(data=b"\xff" * 4)])


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent / "corpus"
    for target in ("quantize", "dequantize", "matmul", "analyze", "calibrate", "quantize_stream",
                   "dequantize_stream"):
        for seed in (out / target).glob("*"):
            if not seed.name.startswith("regression-"):
                seed.unlink()
    quantize_seeds(Corpus(out, "quantize"))
    dequantize_seeds(Corpus(out, "dequantize"))
    analyze_seeds(Corpus(out, "analyze"))
    calibrate_seeds(out)
    # After the others, so that their seeds stay as they were (one RNG).
    matmul_seeds(Corpus(out, "matmul"))
    quantize_stream_seeds(out)
    dequantize_stream_seeds(out)
    for target in sorted(os.listdir(out)):
        files = list((out / target).iterdir())
        print(f"{target}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
