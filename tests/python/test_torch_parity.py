"""quantd's INT8/UINT8 Quantize and Dequantize against PyTorch.

PyTorch is the oracle: the same parameters must give the same bytes as
torch.quantize_per_tensor / torch.quantize_per_channel, and the parameters
quantd derives must equal those of torch.ao's MinMax observers (whose
formulas API.md adopts: float32 arithmetic, ranges widened to include 0,
zero point rounded half to even).
"""

import unittest

import numpy as np
import torch
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

from quantd.v1 import quantd_pb2 as pb
from quantd_process import QuantdProcess

TORCH_DTYPE = {pb.DTYPE_INT8: torch.qint8, pb.DTYPE_UINT8: torch.quint8}
NP_DTYPE = {pb.DTYPE_INT8: np.int8, pb.DTYPE_UINT8: np.uint8}


def tensor_proto(array, dtype=None):
    """A quantd Tensor from a numpy array (or a torch bfloat16 tensor)."""
    if isinstance(array, torch.Tensor):  # bfloat16 has no numpy dtype.
        raw = array.contiguous().view(torch.int16).numpy().tobytes()
        return pb.Tensor(dtype=pb.DTYPE_BFLOAT16, shape=list(array.shape), data=raw)
    dtype = dtype or {np.dtype(np.float32): pb.DTYPE_FLOAT32,
                      np.dtype(np.float16): pb.DTYPE_FLOAT16,
                      np.dtype(np.float64): pb.DTYPE_FLOAT64}[array.dtype]
    return pb.Tensor(dtype=dtype, shape=list(array.shape),
                     data=np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())


def test_data(rng, shape, kind):
    """Random data, including values exactly on rounding ties."""
    if kind == "normal":
        return rng.standard_normal(shape).astype(np.float32) * 3
    if kind == "skewed":
        return (rng.exponential(2.0, shape) - 0.5).astype(np.float32)
    if kind == "ties":  # Multiples of 0.5 with amax 127: scale 1, many ties.
        x = rng.integers(-254, 255, shape).astype(np.float32) / 2
        x.flat[0] = 127.0
        return x
    raise ValueError(kind)


class ServerTestCase(unittest.TestCase):
    """One quantd process for the class; it must exit 0 on SIGTERM."""

    SEED = 20261123

    @classmethod
    def setUpClass(cls):
        cls.server = QuantdProcess().__enter__()
        cls.stub = cls.server.stub()
        cls.rng = np.random.default_rng(cls.SEED)

    @classmethod
    def tearDownClass(cls):
        code = cls.server.terminate()
        cls.server.__exit__(None, None, None)
        assert code == 0, code

    def quantize(self, array, **options):
        request = pb.QuantizeRequest(input=tensor_proto(array), options=pb.QuantizeOptions(**options))
        return self.stub.Quantize(request)


class TorchParityTest(ServerTestCase):
    def output(self, response):
        return np.frombuffer(response.output.data, NP_DTYPE[response.output.dtype]).reshape(
            list(response.output.shape))

    def test_per_tensor_params_and_bytes_equal_torch(self):
        # (quantd options, torch observer arguments)
        cases = [
            (dict(dtype=pb.DTYPE_UINT8),  # ASYMMETRIC by default.
             dict(dtype=torch.quint8, qscheme=torch.per_tensor_affine)),
            (dict(dtype=pb.DTYPE_INT8, scheme=pb.SCHEME_ASYMMETRIC),
             dict(dtype=torch.qint8, qscheme=torch.per_tensor_affine)),
            (dict(dtype=pb.DTYPE_INT8, full_range=True),
             dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)),
            (dict(dtype=pb.DTYPE_INT8),  # Restricted range [-127, 127].
             dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, quant_min=-127, quant_max=127)),
        ]
        for options, observer_args in cases:
            for kind in ("normal", "skewed", "ties"):
                with self.subTest(options=options, kind=kind):
                    x = test_data(self.rng, (37, 29), kind)
                    response = self.quantize(x, **options)
                    observer = MinMaxObserver(**observer_args)
                    observer(torch.from_numpy(x))
                    scale, zero_point = observer.calculate_qparams()
                    self.assertEqual(np.float32(response.params.scales[0]), np.float32(scale.item()))
                    expected_zp = [] if response.params.scheme == pb.SCHEME_SYMMETRIC else [zero_point.item()]
                    self.assertEqual(list(response.params.zero_points), expected_zp)
                    q = torch.quantize_per_tensor(torch.from_numpy(x), float(response.params.scales[0]),
                                                  int(zero_point.item()), TORCH_DTYPE[options["dtype"]])
                    np.testing.assert_array_equal(self.output(response), q.int_repr().numpy())

    def test_per_channel_on_every_axis_equals_torch(self):
        x = test_data(self.rng, (6, 5, 7), "normal")
        x[2] *= 40  # Channels of very different ranges.
        x[:, 3] -= 9
        for dtype, qscheme in ((pb.DTYPE_UINT8, torch.per_channel_affine),
                               (pb.DTYPE_INT8, torch.per_channel_affine)):
            for axis in (0, 1, 2, -1, -3):
                with self.subTest(dtype=dtype, axis=axis):
                    response = self.quantize(x, dtype=dtype, scheme=pb.SCHEME_ASYMMETRIC,
                                             granularity=pb.GRANULARITY_PER_CHANNEL, axis=axis)
                    ch_axis = axis % x.ndim
                    self.assertEqual(response.params.axis, ch_axis)
                    observer = PerChannelMinMaxObserver(ch_axis=ch_axis, dtype=TORCH_DTYPE[dtype], qscheme=qscheme)
                    observer(torch.from_numpy(x))
                    scales, zero_points = observer.calculate_qparams()
                    np.testing.assert_array_equal(np.float32(response.params.scales), scales.numpy().astype(np.float32))
                    np.testing.assert_array_equal(response.params.zero_points, zero_points.numpy())
                    q = torch.quantize_per_channel(torch.from_numpy(x), torch.tensor(np.float64(response.params.scales)),
                                                   torch.tensor(list(response.params.zero_points)), ch_axis,
                                                   TORCH_DTYPE[dtype])
                    np.testing.assert_array_equal(self.output(response), q.int_repr().numpy())

    def test_per_channel_symmetric_full_range_equals_torch(self):
        x = test_data(self.rng, (8, 16), "normal")
        response = self.quantize(x, dtype=pb.DTYPE_INT8, full_range=True,
                                 granularity=pb.GRANULARITY_PER_CHANNEL, axis=0)
        observer = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
        observer(torch.from_numpy(x))
        scales, _ = observer.calculate_qparams()
        np.testing.assert_array_equal(np.float32(response.params.scales), scales.numpy().astype(np.float32))
        q = torch.quantize_per_channel(torch.from_numpy(x), scales, torch.zeros(8, dtype=torch.long), 0, torch.qint8)
        np.testing.assert_array_equal(self.output(response), q.int_repr().numpy())

    def test_explicit_params_equal_torch(self):
        x = test_data(self.rng, (300,), "skewed")
        for dtype, scale, zp in ((pb.DTYPE_UINT8, 0.037, 17), (pb.DTYPE_INT8, 0.011, -5), (pb.DTYPE_UINT8, 1e-3, 250)):
            with self.subTest(dtype=dtype, scale=scale, zp=zp):
                params = pb.QuantParams(dtype=dtype, scheme=pb.SCHEME_ASYMMETRIC, scales=[scale], zero_points=[zp])
                response = self.quantize(x, params=params)
                q = torch.quantize_per_tensor(torch.from_numpy(x), float(np.float32(scale)), zp, TORCH_DTYPE[dtype])
                np.testing.assert_array_equal(self.output(response), q.int_repr().numpy())
                qmin, qmax = (0, 255) if dtype == pb.DTYPE_UINT8 else (-128, 127)
                v = np.rint(x * (np.float32(1) / np.float32(scale))) + zp
                self.assertEqual(response.error.clipped_count, np.sum((v < qmin) | (v > qmax)))

    def test_half_bfloat16_and_double_inputs_equal_torch_on_the_float_values(self):
        base = test_data(self.rng, (64, 3), "normal")
        inputs = [base.astype(np.float16), torch.from_numpy(base).to(torch.bfloat16), base.astype(np.float64)]
        for x in inputs:
            with self.subTest(dtype=str(x.dtype)):
                response = self.quantize(x, dtype=pb.DTYPE_UINT8, return_dequantized=True)
                as_float = (x.float() if isinstance(x, torch.Tensor) else torch.from_numpy(x.astype(np.float32)))
                q = torch.quantize_per_tensor(as_float, float(response.params.scales[0]),
                                              response.params.zero_points[0], torch.quint8)
                np.testing.assert_array_equal(self.output(response), q.int_repr().numpy())
                # x' comes back in the input's own dtype: torch's dequantize, cast.
                self.assertEqual(response.dequantized.dtype, tensor_proto(x).dtype)
                expected = q.dequantize()
                if isinstance(x, torch.Tensor):
                    got = torch.frombuffer(bytearray(response.dequantized.data), dtype=torch.bfloat16).reshape(x.shape)
                    self.assertTrue(torch.equal(got, expected.to(torch.bfloat16)))
                else:
                    got = np.frombuffer(response.dequantized.data, x.dtype).reshape(x.shape)
                    np.testing.assert_array_equal(got, expected.numpy().astype(x.dtype))

    def test_rounding_modes_against_torch_elementwise(self):
        x = test_data(self.rng, (1000,), "ties")
        scale = np.float32(1.0)
        ops = {pb.ROUNDING_HALF_TO_EVEN: torch.round,  # torch.round is half to even.
               pb.ROUNDING_HALF_AWAY_FROM_ZERO: lambda v: torch.sign(v) * torch.floor(torch.abs(v) + 0.5),
               pb.ROUNDING_FLOOR: torch.floor}
        for rounding, op in ops.items():
            with self.subTest(rounding=rounding):
                response = self.quantize(x, dtype=pb.DTYPE_INT8, rounding=rounding)
                self.assertEqual(response.params.scales[0], scale)
                v = torch.from_numpy(x) * (1 / torch.tensor(scale))
                expected = torch.clamp(op(v), -127, 127).to(torch.int8).numpy()
                np.testing.assert_array_equal(self.output(response), expected)

    def test_dequantize_equals_torch(self):
        x = test_data(self.rng, (4, 50), "normal")
        for granularity in (pb.GRANULARITY_PER_TENSOR, pb.GRANULARITY_PER_CHANNEL):
            with self.subTest(granularity=granularity):
                quantized = self.quantize(x, dtype=pb.DTYPE_UINT8, granularity=granularity, axis=0)
                params = quantized.params
                if granularity == pb.GRANULARITY_PER_TENSOR:
                    q = torch.quantize_per_tensor(torch.from_numpy(x), float(params.scales[0]),
                                                  params.zero_points[0], torch.quint8)
                else:
                    q = torch.quantize_per_channel(torch.from_numpy(x), torch.tensor(np.float64(params.scales)),
                                                   torch.tensor(list(params.zero_points)), 0, torch.quint8)
                expected = q.dequantize()
                for output_dtype, torch_dtype, np_view in ((pb.DTYPE_FLOAT32, torch.float32, np.float32),
                                                           (pb.DTYPE_FLOAT16, torch.float16, np.float16),
                                                           (pb.DTYPE_BFLOAT16, torch.bfloat16, None)):
                    response = self.stub.Dequantize(pb.DequantizeRequest(
                        input=quantized.output, params=params, output_dtype=output_dtype))
                    self.assertEqual(response.output.dtype, output_dtype)
                    got = torch.frombuffer(bytearray(response.output.data), dtype=torch_dtype).reshape(x.shape)
                    self.assertTrue(torch.equal(got, expected.to(torch_dtype)), output_dtype)

    def test_error_stats_against_float64(self):
        # (123, 7) on axis 1 runs the scalar reference (spans of 7), which
        # sums in double; (16, 4096) on axis 0 the SIMD kernels where the
        # CPU has them, which sum 16 vectors in float32 before double and
        # promise 2e-6 of the sums, the exact count and maximum.
        for shape, axis, bound in (((123, 7), 1, 1e-12), ((16, 4096), 0, 2e-6)):
            with self.subTest(shape=shape):
                x = test_data(self.rng, shape, "skewed")
                response = self.quantize(x, dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL,
                                         axis=axis, return_dequantized=True)
                y = np.frombuffer(response.dequantized.data, np.float32).reshape(x.shape).astype(np.float64)
                xd = x.astype(np.float64)
                e = xd - y
                stats = response.error
                self.assertEqual(stats.count, x.size)
                self.assertAlmostEqual(stats.mse, np.mean(e * e), delta=bound * np.mean(e * e))
                self.assertAlmostEqual(stats.sum_abs_error, np.sum(np.abs(e)), delta=bound * np.sum(np.abs(e)))
                self.assertEqual(stats.max_abs_error, np.max(np.abs(e)))
                sqnr = 10 * np.log10(np.sum(xd * xd) / np.sum(e * e))
                self.assertAlmostEqual(stats.sqnr_db, sqnr, delta=10 * bound)
                cosine = np.sum(xd * y) / np.sqrt(np.sum(xd * xd) * np.sum(y * y))
                self.assertAlmostEqual(stats.cosine_similarity, cosine, delta=bound)
                self.assertEqual(stats.clipped_count, 0)

if __name__ == "__main__":
    unittest.main()
