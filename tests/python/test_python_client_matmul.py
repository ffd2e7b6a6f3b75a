"""quantd_client's matmul (QuantizedMatMul) against the real quantd, with
numpy in float64 and Debian's torch as oracles.

Where the operands reach the server quantized (codes with params, or float
A, whose per-row INT8 codes equal those of Quantize per channel on axis 0),
the product is exact integer arithmetic and a float64 epilogue, so the
answer equals numpy's float64 product of the dequantized operands up to the
final rounding to float32 (a relative 2^-24 per element). Where the
server quantizes float operands itself, the answer is compared with
torch.matmul within the error INT8 rounding allows (see test_linear...).
"""

import unittest

import grpc
import numpy as np
import torch

from client_test_case import ClientTestCase, metric_sum
from quantd_client import MatMulResult, QuantdError

# Float32 rounding of the output, with room for float64 summation order.
OUTPUT_RTOL = 1e-6


def relative_error(y, want):
    """||y - want||_F / ||want||_F in float64."""
    y, want = np.asarray(y, np.float64), np.asarray(want, np.float64)
    return float(np.linalg.norm(y - want) / np.linalg.norm(want))


def dequantized(q, axis_len=None):
    """x' of a QuantizeResult in float64, from its codes and scales (not
    through float32, so that the oracle carries no rounding of its own)."""
    p = q.params
    codes = q.codes.astype(np.float64)
    zero_points = p.zero_points.astype(np.float64) if p.zero_points.size else None
    scales = p.scales.astype(np.float64)
    if p.granularity in (None, "per_tensor"):
        return (codes - (zero_points[0] if zero_points is not None else 0)) * scales[0]
    axis = p.axis % codes.ndim
    if p.granularity == "per_channel":
        shape = [1] * codes.ndim
        shape[axis] = -1
        zp = zero_points.reshape(shape) if zero_points is not None else 0
        return (codes - zp) * scales.reshape(shape)
    # Per group along `axis`: each block of group_size shares a scale.
    moved = np.moveaxis(codes, axis, -1)
    groups = -(-moved.shape[-1] // p.group_size)
    other = list(moved.shape[:-1])
    block_scales = np.moveaxis(scales.reshape(
        [codes.shape[i] if i != axis else groups for i in range(codes.ndim)]), axis, -1)
    expanded = np.repeat(block_scales, p.group_size, axis=-1)[..., :moved.shape[-1]]
    zp = 0
    if zero_points is not None:
        zp = np.repeat(np.moveaxis(zero_points.reshape(other[:axis] + [groups] + other[axis:]), axis, -1),
                       p.group_size, axis=-1)[..., :moved.shape[-1]]
    return np.moveaxis((moved - zp) * expanded, -1, axis)


class PythonClientMatMulTest(ClientTestCase):
    SEED = 31

    def gaussian(self, shape, scale=1.0):
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def linear_weight(self, out_features, in_features, seed=0):
        torch.manual_seed(seed)
        return torch.nn.Linear(in_features, out_features).weight.detach()

    def assert_output_equals(self, y, want):
        """Equal up to the output's float32 rounding."""
        y = np.asarray(y, np.float64)
        np.testing.assert_allclose(y, want, rtol=OUTPUT_RTOL, atol=OUTPUT_RTOL * np.abs(want).max())

    def per_row_int8(self, a):
        """A as the server quantizes it on the fly: INT8 per row, symmetric
        absmax, half to even; the Quantize RPC with those options says which
        codes that is."""
        return self.client.quantize(a, "int8", granularity="per_channel", axis=0)

    def test_linear_layer_is_close_to_torch_matmul(self):
        # Float A [M, K] and a torch.nn.Linear weight [N, K]: both are
        # quantized by the server (A per row, W per output channel).
        # Bound: absmax INT8 rounds each element by at most half a step,
        # amax/254, a uniform error of std amax/(127 sqrt 12). For Gaussian
        # rows of 256 values amax is about 2.9 sigma: 0.66 % of sigma. The
        # Linear weight is uniform on [-b, b] (std b/sqrt 3): 0.39 %. The two
        # errors are independent, so the product's relative Frobenius error is
        # about sqrt(0.66^2 + 0.39^2) = 0.77 %, below the 1 % asserted.
        a = torch.from_numpy(self.gaussian((32, 256)))
        w = self.linear_weight(64, 256)
        result = self.client.matmul(a, w, transpose_b=True)
        self.assertIsInstance(result, MatMulResult)
        y, stats = result
        self.assertIsInstance(y, torch.Tensor)
        self.assertEqual(y.dtype, torch.float32)
        self.assertEqual(tuple(y.shape), (32, 64))
        self.assertEqual(stats.outlier_columns, 0)
        self.assertIsNone(stats.error)
        want = torch.matmul(a.double(), w.double().T).numpy()
        self.assertLess(relative_error(y.numpy(), want), 1e-2)
        # And it is the product of the codes Quantize gives (a tie rounded
        # differently would move an element by one step: allow a few).
        qa = self.per_row_int8(a.numpy())
        qw = self.client.quantize(w.numpy(), "int8", granularity="per_channel", axis=0)
        self.assertLess(relative_error(y.numpy(), dequantized(qa) @ dequantized(qw).T), 1e-4)
        # numpy in, numpy out; the [K, N] layout gives the same answer.
        y_np, _ = self.client.matmul(a.numpy(), np.ascontiguousarray(w.numpy().T))
        self.assertIsInstance(y_np, np.ndarray)
        np.testing.assert_array_equal(y_np, y.numpy())

    def test_llm_int8_outlier_column_runs_in_float(self):
        # Values below 1 everywhere but one feature column near -67, as in
        # the LLM.int8() paper's emergent features. Without decomposition
        # every row's INT8 step is 67/127 = 0.53, so the small values round
        # to a handful of levels; with threshold 6 that column multiplies in
        # float and the rest keep a step of about 1/127.
        a = np.clip(self.gaussian((64, 256), 0.3), -0.99, 0.99)
        a[:, 17] = -67.0 + self.gaussian(64, 0.5)
        w = self.linear_weight(48, 256, seed=1).numpy()
        want = a.astype(np.float64) @ w.astype(np.float64).T
        plain, plain_stats = self.client.matmul(a, w, transpose_b=True)
        split, split_stats = self.client.matmul(a, w, transpose_b=True, outlier_threshold=6.0)
        self.assertEqual(plain_stats.outlier_columns, 0)
        self.assertEqual(split_stats.outlier_columns, 1)
        plain_error, split_error = relative_error(plain, want), relative_error(split, want)
        self.assertLess(split_error, 1e-2)
        self.assertLess(split_error * 10, plain_error, (split_error, plain_error))

    def test_int4_weights_per_group_along_k(self):
        # Weight-only INT4 in groups of 128 along K, from the Quantize RPC.
        # The integer kernel sums A_q x B_q exactly in each group and scales
        # in float64: numpy's float64 product of the dequantized operands.
        a = self.gaussian((8, 384))
        w = self.linear_weight(40, 384, seed=2).numpy()  # [N, K]
        qa = self.per_row_int8(a)
        want_a = dequantized(qa)
        for layout in ("[N, K]", "[K, N]"):
            with self.subTest(layout=layout):
                if layout == "[N, K]":
                    q = self.client.quantize(w, "int4", granularity="per_group", axis=-1, group_size=128)
                    want = want_a @ dequantized(q).T
                    y, stats = self.client.matmul(a, q.codes, b_params=q.params, transpose_b=True)
                else:
                    q = self.client.quantize(np.ascontiguousarray(w.T), "int4", granularity="per_group",
                                             axis=0, group_size=128)
                    want = want_a @ dequantized(q)
                    y, stats = self.client.matmul(a, q.codes, b_params=q.params)
                self.assertEqual(q.params.scales.shape, (40 * 3,))
                self.assert_output_equals(y, want)
                # A given as codes with its params: the same product.
                y2, _ = self.client.matmul(qa.codes, q, a_params=qa.params,
                                           transpose_b=layout == "[N, K]")
                self.assert_output_equals(y2, want)
        # Asymmetric UINT4 with zero points, passed as the QuantizeResult.
        q = self.client.quantize(w, "uint4", granularity="per_group", axis=-1, group_size=128)
        y, _ = self.client.matmul(a, q, transpose_b=True)
        self.assert_output_equals(y, want_a @ dequantized(q).T)

    def test_int8_weights_per_channel_are_exact_up_to_float_rounding(self):
        a = self.gaussian((16, 200))
        w = self.gaussian((24, 200), 0.05)  # [N, K]
        qa = self.per_row_int8(a)
        qw = self.client.quantize(w, "int8", granularity="per_channel", axis=0)
        want = dequantized(qa) @ dequantized(qw).T
        for a_operand, a_params in ((a, None), (qa.codes, qa.params)):
            with self.subTest(a="codes" if a_params is not None else "float"):
                y, _ = self.client.matmul(a_operand, qw.codes, a_params=a_params, b_params=qw.params,
                                          transpose_b=True)
                self.assertEqual(y.dtype, np.float32)
                self.assert_output_equals(y, want)
        # Per tensor, and B as [K, N] per channel on axis 1.
        qt = self.client.quantize(w, "int8")
        self.assert_output_equals(self.client.matmul(a, qt, transpose_b=True).output,
                                  dequantized(qa) @ dequantized(qt).T)
        qk = self.client.quantize(np.ascontiguousarray(w.T), "int8", granularity="per_channel", axis=1)
        self.assert_output_equals(self.client.matmul(a, qk).output, want)

    def test_nf4_weights_multiply_float_a_in_float32(self):
        a = self.gaussian((6, 128))
        w = self.gaussian((20, 128), 0.05)
        q = self.client.quantize(w, "nf4", granularity="per_group", axis=-1, group_size=64)
        w2 = self.client.dequantize(q).astype(np.float64)
        y, _ = self.client.matmul(a, q, transpose_b=True)
        # Float32 sums over K = 128: well within 1e-5 of the float64 product.
        self.assertLess(relative_error(y, a.astype(np.float64) @ w2.T), 1e-5)

    def test_reference_error_matches_numpy(self):
        a = self.gaussian((24, 160))
        w = self.gaussian((160, 12), 0.1)
        y, stats = self.client.matmul(a, w, compute_reference_error=True)
        reference = a.astype(np.float64) @ w.astype(np.float64)
        error = y.astype(np.float64) - reference
        self.assertEqual(stats.error.count, 24 * 12)
        sqnr = 10 * np.log10(np.sum(reference ** 2) / np.sum(error ** 2))
        self.assertAlmostEqual(stats.error.sqnr_db, sqnr, delta=0.01)
        self.assertGreater(stats.error.sqnr_db, 30)  # INT8 of both operands: about 42 dB.
        np.testing.assert_allclose(stats.error.mse, np.mean(error ** 2), rtol=1e-3)
        np.testing.assert_allclose(stats.error.max_abs_error, np.abs(error).max(), rtol=1e-3)
        self.assertGreater(stats.error.cosine_similarity, 0.999)
        self.assertGreaterEqual(metric_sum(self.server, "quantd_matmul_sqnr_db_count"), 1)
        self.assertGreaterEqual(metric_sum(self.server, "quantd_matmul_ops_total"), 2 * 24 * 160 * 12)

    def test_bias_is_added(self):
        a = self.gaussian((5, 64))
        w = self.gaussian((64, 7))
        bias = self.gaussian(7)
        y, _ = self.client.matmul(a, w)
        y_bias, _ = self.client.matmul(a, w, bias=bias)
        np.testing.assert_allclose(y_bias, y.astype(np.float64) + bias, rtol=1e-6, atol=1e-5)
        y_torch, _ = self.client.matmul(torch.from_numpy(a), torch.from_numpy(w), bias=torch.from_numpy(bias))
        np.testing.assert_array_equal(y_torch.numpy(), y_bias)

    def test_sixteen_bit_outputs_are_casts_of_the_float32_result(self):
        a = torch.from_numpy(self.gaussian((9, 96)))
        w = self.linear_weight(33, 96, seed=3)
        y, _ = self.client.matmul(a, w, transpose_b=True)
        y_bf16, _ = self.client.matmul(a, w, transpose_b=True, output_dtype="bfloat16")
        self.assertEqual(y_bf16.dtype, torch.bfloat16)
        self.assertTrue(torch.equal(y_bf16, y.bfloat16()))
        y_f16, _ = self.client.matmul(a.numpy(), w.numpy(), transpose_b=True, output_dtype="float16")
        self.assertEqual(y_f16.dtype, np.float16)
        np.testing.assert_array_equal(y_f16, y.numpy().astype(np.float16))
        # bfloat16 and float16 inputs are accepted as they are.
        for x in (a.bfloat16(), a.half()):
            with self.subTest(dtype=str(x.dtype)):
                out, _ = self.client.matmul(x, w.to(x.dtype), transpose_b=True)
                self.assertEqual(out.dtype, torch.float32)
                self.assertLess(relative_error(out.numpy(), y.numpy()), 2e-2)

    def test_bad_requests_raise_quantd_error(self):
        a = self.gaussian((4, 7))
        cases = [
            ("mismatched K", lambda: self.client.matmul(a, self.gaussian((11, 3))), ("7", "11")),
            ("a of rank 1", lambda: self.client.matmul(a[0], self.gaussian((7, 3))), ()),
            ("bias of the wrong length",
             lambda: self.client.matmul(a, self.gaussian((7, 3)), bias=np.ones(4, np.float32)), ("bias",)),
            ("NaN in a", lambda: self.client.matmul(np.where(a > 1, np.nan, a).astype(np.float32),
                                                    self.gaussian((7, 3))), ("nan",)),
        ]
        a[0, 0] = 2.0  # At least one NaN for the NaN case.
        for what, call, parts in cases:
            with self.subTest(what), self.assertRaises(QuantdError) as raised:
                call()
            self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
            for part in parts:
                self.assertIn(part, raised.exception.details)
        with self.assertRaisesRegex(TypeError, "a must be float32"):
            self.client.matmul(np.ones((2, 2), np.int8), np.ones((2, 2), np.float32))
        with self.assertRaisesRegex(TypeError, "b_params"):
            self.client.matmul(a, self.client.quantize(a.T, "int8").tensor_proto())


if __name__ == "__main__":
    unittest.main()
