"""quantd_client's Quantize, Dequantize, Analyze and health calls against
the real quantd.

The codes the client unpacks are checked against the server's own x': for
every format a code must stand for one value only (a scrambled element or
nibble order breaks that), and where the format's decoding is simple it is
written out here (integers, ternary, binary, FP8/FP4 bit fields, codebooks,
the 16-bit casts). Round trips through the client's packing and Dequantize
must give the server's return_dequantized bit for bit.
"""

import unittest

import grpc
import numpy as np
import torch

from client_test_case import ClientTestCase
from quantd.v1 import quantd_pb2 as pb
from quantd_client import LIVENESS, ErrorBudget, QuantdError, QuantParams, pack

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]  # QLoRA's table (bitsandbytes).


def minifloat(codes, exp_bits, man_bits, bias):
    """Values of sign/exponent/mantissa bit fields (OCP FP8 and FP4 E2M1)."""
    c = codes.astype(np.int64)
    sign = np.where((c >> (exp_bits + man_bits)) & 1, -1.0, 1.0)
    e = (c >> man_bits) & ((1 << exp_bits) - 1)
    m = (c & ((1 << man_bits) - 1)) / float(1 << man_bits)
    return sign * np.where(e == 0, m * 2.0 ** (1 - bias), (1 + m) * 2.0 ** (e - bias))


def integer_values(q):
    zero_point = q.params.zero_points[0] if q.params.zero_points.size else 0
    return q.codes.astype(np.int64) - zero_point


# Per-tensor formats: (quantize keywords, code -> value before the scale, or
# None where the test checks only that codes and values correspond).
PER_TENSOR = [
    (dict(dtype="int8"), integer_values),
    (dict(dtype="uint8"), integer_values),  # ASYMMETRIC: a zero point.
    (dict(dtype="int4"), integer_values),
    (dict(dtype="uint4"), integer_values),
    (dict(dtype="ternary"), integer_values),
    (dict(dtype="binary"), integer_values),
    (dict(dtype="float8_e4m3fn"), lambda q: minifloat(q.codes, 4, 3, 7)),
    (dict(dtype="float8_e5m2"), lambda q: minifloat(q.codes, 5, 2, 15)),
    (dict(dtype="float4_e2m1"), lambda q: minifloat(q.codes, 2, 1, 1)),
    (dict(dtype="lut4", range_method="kmeans"), lambda q: q.params.codebook[q.codes]),
    (dict(dtype="lut8", range_method="log2"), lambda q: q.params.codebook[q.codes]),
    (dict(dtype="nf4"), None),  # Checked against NF4 to float32 precision below.
]

# Other granularities and scale types: round trips only.
GROUPED = [
    dict(dtype="int8", granularity="per_channel", axis=1),
    dict(dtype="uint4", granularity="per_group", axis=-1, group_size=8),
    dict(dtype="int4", granularity="per_group", axis=0, group_size=2, full_range=True),
    dict(dtype="nf4", granularity="per_group", axis=-1, group_size=16),
    dict(dtype="float4_e2m1", granularity="per_group", axis=-1, group_size=32, scale_dtype="e8m0"),
    dict(dtype="float8_e4m3fn", granularity="per_group", axis=-1, group_size=32, scale_dtype="e8m0"),
    dict(dtype="ternary", granularity="per_channel", axis=0),
    dict(dtype="float16"),
    dict(dtype="bfloat16"),
]


class PythonClientTest(ClientTestCase):
    SEED = 8

    def data(self, shape=(5, 13), scale=2.0):
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def assert_round_trips(self, x, q):
        """The client's unpacking, packing and Dequantize against the
        server's x'."""
        self.assertEqual(q.codes.shape, x.shape)
        self.assertEqual(pack(q.codes, q.dtype), q.packed)
        np.testing.assert_array_equal(self.client.dequantize(q), q.dequantized)
        np.testing.assert_array_equal(self.client.dequantize(q.codes, q.params), q.dequantized)

    def test_every_format_round_trips_and_its_codes_decode_to_the_servers_values(self):
        x = self.data()  # 65 elements: sub-byte tails are padded.
        for options, decode in PER_TENSOR:
            with self.subTest(**options):
                q = self.client.quantize(x, return_dequantized=True, **options)
                self.assertEqual(q.dtype, options["dtype"])
                self.assert_round_trips(x, q)
                # Each code stands for one value.
                codes, values = q.codes.reshape(-1), q.dequantized.reshape(-1)
                for code in np.unique(codes):
                    self.assertEqual(len(np.unique(values[codes == code])), 1, code)
                self.assertGreater(len(np.unique(codes)), 1)
                if decode is not None:
                    want = np.float32(decode(q)) * np.float32(q.params.scales[0])
                    np.testing.assert_array_equal(want, q.dequantized)
                else:
                    want = np.float32(np.array(NF4)[q.codes]) * np.float32(q.params.scales[0])
                    np.testing.assert_allclose(want, q.dequantized, rtol=1e-6)
        for options in GROUPED:
            with self.subTest(**options):
                x = self.data((8, 64))
                q = self.client.quantize(x, return_dequantized=True, **options)
                self.assert_round_trips(x, q)

    def test_sixteen_bit_targets_are_the_casts_in_their_codes(self):
        x = self.data((3, 7), scale=100)
        q = self.client.quantize(x, "float16")
        np.testing.assert_array_equal(q.codes, x.astype(np.float16))
        q = self.client.quantize(x, "bfloat16")
        self.assertEqual(q.codes.dtype, np.uint16)
        np.testing.assert_array_equal(q.codes, torch.from_numpy(x).bfloat16().view(torch.int16).numpy()
                                      .view(np.uint16))

    def test_empty_and_scalar_tensors_keep_their_shapes(self):
        for x in (np.zeros((0, 4), np.float32), np.float32(1.5), np.array([-0.5, 0.25, 1.0])):
            with self.subTest(shape=np.shape(x)):
                q = self.client.quantize(x, "int4", return_dequantized=True)
                self.assertEqual(q.codes.shape, np.shape(x))
                self.assertEqual(q.dequantized.dtype, np.asarray(x).dtype)
                self.assert_round_trips(np.asarray(x), q)

    def test_torch_and_numpy_inputs_of_each_float_type_come_back_in_it(self):
        x32 = self.data((6, 40))
        reference = self.client.quantize(x32, "int8", granularity="per_channel", axis=0,
                                         return_dequantized=True)
        tensor = torch.from_numpy(x32)
        inputs = [tensor, tensor.half(), tensor.bfloat16(), tensor.double(),
                  x32.astype(np.float16), x32.astype(np.float64), x32.astype(">f4")]
        for x in inputs:
            with self.subTest(type=type(x).__name__, dtype=str(x.dtype)):
                if isinstance(x, torch.Tensor):
                    x = x.clone().requires_grad_()
                    same = x.detach().float().numpy()
                else:
                    same = x.astype(np.float32)
                # The float32 values of the input quantize as they do alone.
                want = reference if np.array_equal(same, x32) else self.client.quantize(
                    same, "int8", granularity="per_channel", axis=0, return_dequantized=True)
                q = self.client.quantize(x, "int8", granularity="per_channel", axis=0,
                                         return_dequantized=True)
                np.testing.assert_array_equal(q.codes, want.codes)
                self.assertEqual(q.params, want.params)
                self.assertIs(type(q.dequantized), type(x))
                self.assertEqual(q.dequantized.dtype, x.dtype.newbyteorder("=") if isinstance(x, np.ndarray)
                                 else x.dtype)
                if isinstance(x, torch.Tensor):
                    self.assertTrue(torch.equal(q.dequantized, torch.from_numpy(want.dequantized).to(x.dtype)))
                    back = self.client.dequantize(q)
                    self.assertIsInstance(back, torch.Tensor)
                    self.assertTrue(torch.equal(back, torch.from_numpy(want.dequantized)))
                    codes = torch.from_numpy(q.codes)
                    self.assertTrue(torch.equal(self.client.dequantize(codes, q.params), back))
                else:
                    np.testing.assert_array_equal(q.dequantized, want.dequantized.astype(x.dtype))
                    np.testing.assert_array_equal(self.client.dequantize(q), want.dequantized)
                bf16 = self.client.dequantize(q, output_dtype="bfloat16")
                self.assertEqual(bf16.dtype, torch.bfloat16)
                self.assertTrue(torch.equal(bf16, torch.from_numpy(want.dequantized).bfloat16()))

    def test_params_feed_quantize_and_survive_proto_and_json(self):
        x = self.data((4, 64))
        q = self.client.quantize(x, "uint4", granularity="per_group", axis=-1, group_size=16)
        self.assertEqual((q.params.dtype, q.params.scheme, q.params.granularity), ("uint4", "asymmetric", "per_group"))
        self.assertEqual(q.params.scales.shape, (16,))
        self.assertEqual(QuantParams.from_proto(q.params.to_proto()), q.params)
        self.assertEqual(QuantParams.from_json(q.params.to_json()), q.params)
        for params in (q.params, q.params.to_proto(), q):
            self.assertEqual(self.client.quantize(x, "int8", params=params).packed, q.packed)
        other = QuantParams("uint4", "asymmetric", "per_group", axis=1, group_size=16,
                            scales=q.params.scales * 2, zero_points=q.params.zero_points)
        self.assertNotEqual(other, q.params)
        self.assertNotEqual(self.client.quantize(x, params=other).packed, q.packed)

    def test_enums_take_names_in_any_case_and_proto_numbers(self):
        x = self.data((4, 32))
        by_name = self.client.quantize(x, "INT4", granularity="PER_GROUP", axis=-1, group_size=8,
                                       rounding="half_away_from_zero")
        by_number = self.client.quantize(x, pb.DTYPE_INT4, granularity=pb.GRANULARITY_PER_GROUP, axis=-1,
                                         group_size=8, rounding=pb.ROUNDING_HALF_AWAY_FROM_ZERO)
        prefixed = self.client.quantize(x, "DTYPE_INT4", granularity="granularity_per_group", axis=-1,
                                        group_size=8, rounding="ROUNDING_HALF_AWAY_FROM_ZERO")
        self.assertEqual(by_name.packed, by_number.packed)
        self.assertEqual(by_name.packed, prefixed.packed)
        with self.assertRaisesRegex(ValueError, "int9.*int8"):
            self.client.quantize(x, "int9")

    def test_analyze_rows_are_reproduced_by_quantize_with_their_options(self):
        w = self.data((16, 128), scale=0.05)
        rows = self.client.analyze(w)
        self.assertGreater(len(rows), 10)
        self.assertTrue(any(row.pareto for row in rows))
        for row in rows:
            with self.subTest(**{k: v for k, v in row.options.items() if v}):
                self.assertEqual(self.client.quantize(w, **row.options).error, row.error)
        candidates = [dict(dtype="int8", granularity="per_channel", axis=0),
                      dict(dtype="nf4", granularity="per_group", axis=-1, group_size=64),
                      pb.QuantizeOptions(dtype=pb.DTYPE_BINARY)]
        rows = self.client.analyze(w, candidates)
        self.assertEqual([r.options["dtype"] for r in rows], ["int8", "nf4", "binary"])
        self.assertEqual(rows[0].bits_per_element, 8 + 32 * 16 / w.size)  # Plus a float32 scale per row.
        self.assertEqual(rows[1].options["group_size"], 64)
        with self.assertRaisesRegex(TypeError, "group"):
            self.client.analyze(w, [dict(dtype="int4", group=64)])

    def test_auto_picks_the_fewest_bits_meeting_the_budget(self):
        w = self.data((32, 256), scale=0.02)
        rows = self.client.analyze(w)
        for budget in (dict(min_sqnr_db=25.0), ErrorBudget(min_sqnr_db=14.0, min_cosine_similarity=0.97)):
            with self.subTest(budget=budget):
                bounds = budget if isinstance(budget, dict) else vars(budget)
                meeting = [r for r in rows if r.error.sqnr_db >= bounds["min_sqnr_db"]
                           and r.error.cosine_similarity >= (bounds.get("min_cosine_similarity") or -1)]
                want = min(meeting, key=lambda r: r.bits_per_element)  # First in sweep order on ties.
                q = self.client.quantize(w, "auto", max_error=budget)
                self.assertTrue(q.budget_met)
                self.assertEqual(q.error, want.error)
                self.assertEqual(q.params.dtype, want.options["dtype"])
                self.assertEqual(q.params.granularity, want.options["granularity"] or "per_tensor")
                self.assertEqual(q.params.group_size, want.options["group_size"])
        q = self.client.quantize(w, "auto", max_error={"min_sqnr_db": 400})
        self.assertFalse(q.budget_met)
        self.assertEqual(q.error.sqnr_db, max(r.error.sqnr_db for r in rows))

    def test_refusals_raise_quantd_error_with_the_servers_code(self):
        x = self.data((4, 8))
        bad = x.copy()
        bad[1, 2] = np.nan
        cases = [
            ("NaN input", lambda: self.client.quantize(bad)),
            ("auto without a budget", lambda: self.client.quantize(x, "auto")),
            ("group size 0", lambda: self.client.quantize(x, "int4", granularity="per_group")),
            ("unknown dtype number", lambda: self.client.quantize(x, 99)),
            ("scales of the wrong count", lambda: self.client.dequantize(
                np.zeros((4, 8), np.int8), QuantParams("int8", granularity="per_channel", scales=[1.0]))),
        ]
        for what, call in cases:
            with self.subTest(what), self.assertRaises(QuantdError) as raised:
                call()
            self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
            self.assertTrue(raised.exception.details)
            self.assertIn("INVALID_ARGUMENT: ", str(raised.exception))

    def test_what_the_client_refuses_before_sending(self):
        params = QuantParams("int4", scales=[0.5])
        with self.assertRaisesRegex(TypeError, "int32"):
            self.client.quantize(np.arange(4, dtype=np.int32))
        with self.assertRaisesRegex(ValueError, "element 1 is 8: int4 codes are -8..7"):
            self.client.dequantize(np.array([1, 8], np.int8), params)
        with self.assertRaisesRegex(ValueError, "element 0 is 0: binary codes are -1 or \\+1"):
            pack(np.array([0, 1]), "binary")
        with self.assertRaisesRegex(TypeError, "params"):
            self.client.dequantize(np.array([1, 2], np.int8))

    def test_health(self):
        self.assertTrue(self.client.health())
        self.assertTrue(self.client.health(LIVENESS))
        with self.assertRaises(QuantdError) as raised:
            self.client.health("no.such.Service")
        self.assertEqual(raised.exception.code, grpc.StatusCode.NOT_FOUND)


if __name__ == "__main__":
    unittest.main()
