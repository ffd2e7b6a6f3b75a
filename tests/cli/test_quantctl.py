#!/usr/bin/env python3
"""quantctl end to end against a real quantd on loopback ports.

ctest runs this with Debian's /usr/bin/python3 (it has numpy) and names the
binaries in QUANTD_BIN and QUANTCTL_BIN. Expected values are recomputed here
with numpy in float32, as API.md specifies the arithmetic, never read back
from the server: the scale from the range, q = clip(rint(x * (1/scale)) + zp,
qmin, qmax) with 1/scale in float32, and x' = (q - zp) * scale.
"""

import json
import math
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import unittest

import numpy as np

QUANTD = os.environ.get("QUANTD_BIN", "")
QUANTCTL = os.environ.get("QUANTCTL_BIN", "")
F32 = np.float32


class Server:
    """A quantd process on ephemeral loopback ports.

    Its stderr is drained on a thread for the whole run, so the server can
    never block on a full pipe, and the gRPC port is taken from the line
    "quantd: gRPC listening on port N (...)".
    """

    def __init__(self, *flags):
        self.lines = []
        self.proc = subprocess.Popen(
            [QUANTD, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0", *flags],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        ports = queue.Queue()

        def drain():
            for line in self.proc.stderr:
                self.lines.append(line)
                match = re.search(r"gRPC listening on port (\d+)", line)
                if match:
                    ports.put(int(match.group(1)))
            ports.put(None)  # End of stderr: the process exited.

        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()
        try:
            self.port = ports.get(timeout=30)
        except queue.Empty:
            self.port = None
        if self.port is None:
            self.kill()
            raise RuntimeError("quantd did not report its port:\n" + self.log())

    def log(self):
        return "".join(self.lines)

    def terminate(self, timeout=30):
        """SIGTERM, then the exit code once it has drained."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self.drainer.join(timeout=5)  # The last log lines.
        self.proc.stderr.close()
        return code

    def kill(self):
        """Whatever happened, leave no server behind."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.drainer.join(timeout=5)
        self.proc.stderr.close()


def run_quantctl(port, *args):
    return subprocess.run([QUANTCTL, f"--target=127.0.0.1:{port}", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def parse_stats(stdout):
    """The "name  value" lines quantctl quantize prints after the files."""
    stats = {}
    for line in stdout.splitlines():
        match = re.fullmatch(r"(\w+)\s+(\S+)", line)
        if match:
            stats[match.group(1)] = float(match.group(2))
    return stats


def channel_shape(ndim, axis):
    """The shape that broadcasts per-channel values along `axis`."""
    return [-1 if d == axis % ndim else 1 for d in range(ndim)]


def symmetric_scales(x, axis, qmax):
    """max(|lo|, |hi|) / qmax over the tensor or each channel, in float32."""
    x = x.astype(F32)
    if axis is None:
        amax = np.abs(x).max().reshape(1)
    else:
        others = tuple(d for d in range(x.ndim) if d != axis % x.ndim)
        amax = np.abs(x).max(axis=others)
    scales = (amax / F32(qmax)).astype(F32)
    # A zero range gives scale 1; otherwise at least FLT_MIN.
    return np.where(amax == 0, F32(1), np.maximum(scales, np.finfo(F32).tiny)).astype(F32)


def round_mode(v, rounding):
    """Rounds float32 values in float64, where v + 0.5 is exact."""
    v = v.astype(np.float64)
    if rounding == "half_to_even":
        return np.rint(v)
    if rounding == "half_away_from_zero":
        return np.sign(v) * np.floor(np.abs(v) + 0.5)
    if rounding == "floor":
        return np.floor(v)
    raise ValueError(rounding)


def quantize(x, scales, zero_points, qmin, qmax, axis=None, rounding="half_to_even"):
    """q and the clipped count, as API.md's Mapping says, in float32."""
    x = x.astype(F32)
    shape = [1] * x.ndim if axis is None else channel_shape(x.ndim, axis)
    inv = (F32(1) / np.asarray(scales, dtype=F32)).reshape(shape)
    v = (x * inv).astype(F32)
    r = round_mode(v, rounding) + np.asarray(zero_points, dtype=np.float64).reshape(shape)
    clipped = int(np.count_nonzero((r < qmin) | (r > qmax)))
    return np.clip(r, qmin, qmax), clipped


def dequantize(q, scales, zero_points, axis=None):
    shape = [1] * q.ndim if axis is None else channel_shape(q.ndim, axis)
    zp = np.asarray(zero_points, dtype=np.int32).reshape(shape)
    s = np.asarray(scales, dtype=F32).reshape(shape)
    return ((q.astype(np.int32) - zp).astype(F32) * s).astype(F32)


def bfloat16_bits(x32):
    """float32 -> bfloat16 bits, round to nearest even."""
    bits = x32.astype(F32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


class QuantctlTest(unittest.TestCase):
    """Every command against one server."""

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="quantctl_test_")
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = tmp.name
        cls.server = Server()
        cls.addClassCleanup(cls.server.kill)
        cls.rng = np.random.default_rng(20240611)

    def path(self, name):
        return os.path.join(self.dir, f"{self._testMethodName}_{name}")

    def quantctl(self, *args, expect=0):
        result = run_quantctl(self.server.port, *args)
        if expect is not None:
            self.assertEqual(result.returncode, expect,
                             f"quantctl {' '.join(map(str, args))}\nstdout:\n{result.stdout}"
                             f"\nstderr:\n{result.stderr}\nserver:\n{self.server.log()}")
        return result

    def quantize_file(self, x, *flags, dequantized=False):
        """Runs quantize on x; returns (q, params, stats, x' or None)."""
        x_path, q_path, d_path = self.path("x.npy"), self.path("q.npy"), self.path("xd.npy")
        np.save(x_path, x)
        extra = ["--dequantized", d_path] if dequantized else []
        result = self.quantctl("quantize", "--in", x_path, "--out", q_path, *flags, *extra)
        with open(self.path("q.params.json")) as f:
            params = json.load(f)
        return (np.load(q_path), params, parse_stats(result.stdout),
                np.load(d_path) if dequantized else None)

    def assert_stats(self, stats, x, x_prime, clipped):
        x = x.astype(np.float64)
        err = x - x_prime.astype(np.float64)
        self.assertEqual(stats["count"], x.size)
        self.assertEqual(stats["clipped_count"], clipped)
        mse = np.mean(err ** 2)
        self.assertAlmostEqual(stats["mse"], mse, delta=1e-6 * mse + 1e-30)
        self.assertAlmostEqual(stats["max_abs_error"], np.abs(err).max(), delta=1e-7)
        self.assertAlmostEqual(stats["sum_abs_error"], np.abs(err).sum(),
                               delta=1e-6 * np.abs(err).sum() + 1e-30)
        expected_sqnr = 10 * math.log10(np.sum(x ** 2) / np.sum(err ** 2))
        self.assertAlmostEqual(stats["sqnr_db"], expected_sqnr, delta=1e-4)
        cosine = np.dot(x.ravel(), x_prime.astype(np.float64).ravel()) / (
            np.linalg.norm(x) * np.linalg.norm(x_prime.astype(np.float64)))
        self.assertAlmostEqual(stats["cosine_similarity"], cosine, delta=1e-6)

    def test_health_reports_serving(self):
        result = self.quantctl("health")
        self.assertIn('"": SERVING', result.stdout)
        self.assertIn('"quantd.v1.Quantizer": SERVING', result.stdout)
        result = self.quantctl("health", "--service", "no.such.Service", expect=1)
        self.assertIn("NOT_FOUND", result.stderr)

    def test_quantize_int8_per_tensor(self):
        x = (self.rng.standard_normal((8, 16)) * 3).astype(F32)
        q, params, stats, x_prime = self.quantize_file(x, "--dtype", "int8", dequantized=True)

        self.assertEqual(q.dtype, np.int8)
        self.assertEqual(q.shape, x.shape)
        self.assertEqual(params["dtype"], "DTYPE_INT8")
        self.assertEqual(params["scheme"], "SCHEME_SYMMETRIC")
        self.assertEqual(params["granularity"], "GRANULARITY_PER_TENSOR")
        self.assertEqual(params["zero_points"], [])
        self.assertIn("full_range", params)  # Defaults are written too.
        scales = np.array(params["scales"], dtype=F32)
        np.testing.assert_array_equal(scales, symmetric_scales(x, None, 127))

        expected, clipped = quantize(x, scales, [0], -127, 127)
        np.testing.assert_array_equal(q, expected.astype(np.int8))
        self.assertEqual(x_prime.dtype, np.float32)
        np.testing.assert_array_equal(x_prime, dequantize(q, scales, [0]))
        self.assert_stats(stats, x, x_prime, clipped)

    def test_nf4_per_group_round_trips_through_dequantize(self):
        x = self.rng.standard_normal((4, 64)).astype(F32)
        q, params, stats, x_prime = self.quantize_file(
            x, "--dtype", "nf4", "--granularity", "per_group", "--axis", "-1",
            "--group_size", "32", dequantized=True)
        self.assertEqual(params["dtype"], "DTYPE_NF4")
        self.assertEqual(len(params["scales"]), 8)  # Per group absmax.
        self.assertTrue(((q >= 0) & (q <= 15)).all())  # Codes, one per element.
        d_path = self.path("back.npy")
        self.quantctl("dequantize", "--in", self.path("q.npy"), "--params",
                      self.path("q.params.json"), "--out", d_path)
        np.testing.assert_array_equal(np.load(d_path), x_prime)
        self.assertEqual(stats["count"], x.size)

    def test_auto_meets_its_budget_and_analyze_prints_the_sweep(self):
        x = self.rng.standard_normal((16, 128)).astype(F32)
        _, params, stats, _ = self.quantize_file(x, "--dtype", "auto", "--min_sqnr_db", "25")
        self.assertGreaterEqual(stats["sqnr_db"], 25)
        self.assertNotEqual(params["dtype"], "DTYPE_AUTO")
        self.quantctl("quantize", "--in", self.path("x.npy"), "--out", self.path("q2.npy"),
                      "--dtype", "auto", expect=1)  # No budget: INVALID_ARGUMENT.
        result = self.quantctl("analyze", "--in", self.path("x.npy"))
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 18)  # Header and 17 formats.
        self.assertTrue(lines[1].startswith("binary"))
        self.assertIn("float8_e4m3fn g32 e8m0", result.stdout)
        self.assertTrue(any(line.rstrip().endswith("*") for line in lines[1:]))

    def test_calibrate_then_quantize_then_dequantize(self):
        paths = []
        for b in range(4):
            path = self.path(f"batch{b}.npy")
            np.save(path, (self.rng.standard_normal((8, 32)) * (1 + b)).astype(F32))
            paths.append(path)
        params = self.path("p.params.json")
        result = self.quantctl("calibrate", "--method", "entropy", "--dtype", "int8",
                               "--out", params, "--state_out", self.path("all.json"), *paths)
        self.assertIn("values_seen   1024", result.stdout)
        self.assertIn("batches_seen  4", result.stdout)
        with open(params) as f:
            self.assertEqual(json.load(f)["dtype"], "DTYPE_INT8")
        q = self.path("q.npy")
        self.quantctl("quantize", "--in", paths[0], "--out", q, "--params", params)
        self.quantctl("dequantize", "--in", q, "--params", params, "--out", self.path("x2.npy"))
        # Two streams merged give the one stream's params.
        self.quantctl("calibrate", "--method", "entropy", "--out", self.path("a.params.json"),
                      "--state_out", self.path("a.json"), paths[3], paths[1])
        self.quantctl("calibrate", "--method", "entropy", "--out", self.path("b.params.json"),
                      "--state_out", self.path("b.json"), paths[2], paths[0])
        self.quantctl("calibrate", "--method", "entropy", "--out", self.path("m.params.json"),
                      "--merge", f"{self.path('b.json')},{self.path('a.json')}")
        with open(params) as f, open(self.path("m.params.json")) as g:
            self.assertEqual(json.load(f)["scales"], json.load(g)["scales"])
        # A batch with a different channel count is named.
        np.save(self.path("odd.npy"), np.ones((3, 5), F32))
        result = self.quantctl("calibrate", "--granularity", "per_channel", "--axis", "1",
                               "--out", self.path("x.json"), paths[0], self.path("odd.npy"), expect=1)
        self.assertIn("batch 1", result.stderr)
        self.quantctl("calibrate", "--out", params, expect=2)  # No batches, no merge.

    def test_quantize_int8_per_channel(self):
        x = (self.rng.standard_normal((3, 5, 4)) * [[[1]], [[10]], [[0.01]]]).astype(F32)
        x[:, 2, :] = 0  # An all-zero channel along axis 1: scale 1.
        for axis in (0, 1, -1):
            with self.subTest(axis=axis):
                q, params, stats, x_prime = self.quantize_file(
                    x, "--granularity", "per_channel", "--axis", axis, dequantized=True)
                self.assertEqual(q.dtype, np.int8)
                self.assertEqual(q.shape, x.shape)
                self.assertEqual(params["granularity"], "GRANULARITY_PER_CHANNEL")
                self.assertEqual(params["axis"], axis % x.ndim)
                scales = np.array(params["scales"], dtype=F32)
                self.assertEqual(len(scales), x.shape[axis])
                np.testing.assert_array_equal(scales, symmetric_scales(x, axis, 127))
                expected, clipped = quantize(x, scales, [0] * len(scales), -127, 127, axis)
                np.testing.assert_array_equal(q, expected.astype(np.int8))
                np.testing.assert_array_equal(x_prime,
                                              dequantize(q, scales, [0] * len(scales), axis))
                self.assert_stats(stats, x, x_prime, clipped)

    def test_quantize_uint8_asymmetric(self):
        x = (self.rng.standard_normal((6, 10)) + 1.5).astype(F32)
        x[0, 0] = -0.75  # The range is [-0.75, max]: zero point well above 0.
        for granularity in ("per_tensor", "per_channel"):
            with self.subTest(granularity=granularity):
                q, params, stats, x_prime = self.quantize_file(
                    x, "--dtype", "uint8", "--granularity", granularity, "--axis", 0,
                    dequantized=True)
                self.assertEqual(q.dtype, np.uint8)
                self.assertEqual(params["scheme"], "SCHEME_ASYMMETRIC")  # The UINT8 default.
                axis = None if granularity == "per_tensor" else 0
                if axis is None:
                    lo, hi = np.minimum(x.min(), 0).reshape(1), np.maximum(x.max(), 0).reshape(1)
                else:
                    lo, hi = np.minimum(x.min(axis=1), 0), np.maximum(x.max(axis=1), 0)
                scales = ((hi - lo).astype(F32) / F32(255)).astype(F32)
                zero_points = np.clip(0 - np.rint((lo / scales).astype(F32)), 0, 255)
                np.testing.assert_array_equal(np.array(params["scales"], dtype=F32), scales)
                np.testing.assert_array_equal(np.array(params["zero_points"]), zero_points)
                expected, clipped = quantize(x, scales, zero_points, 0, 255, axis)
                np.testing.assert_array_equal(q, expected.astype(np.uint8))
                np.testing.assert_array_equal(x_prime, dequantize(q, scales, zero_points, axis))
                self.assert_stats(stats, x, x_prime, clipped)

    def test_clip_range_full_range_and_rounding(self):
        # clip [-127, 127] gives scale 1, so each x is its own v: exact halves
        # tell the rounding modes apart, and 200 / -300 are clipped.
        x = np.array([[0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.7, -3.7],
                      [126.5, -126.5, 127.4, 200, -300, 0, 1e-3, -1e-3]], dtype=F32)
        for rounding in ("half_to_even", "half_away_from_zero", "floor"):
            with self.subTest(rounding=rounding):
                q, params, stats, _ = self.quantize_file(
                    x, "--clip_min", -127, "--clip_max", 127, "--rounding", rounding)
                self.assertEqual(params["scales"], [1.0])
                expected, clipped = quantize(x, [1], [0], -127, 127, rounding=rounding)
                np.testing.assert_array_equal(q, expected.astype(np.int8))
                self.assertEqual(stats["clipped_count"], clipped)
        # Full range: [-128, 127], scale = amax / 127.5.
        q, params, stats, _ = self.quantize_file(x, "--full_range", "--range_method", "absmax")
        self.assertTrue(params["full_range"])
        scales = symmetric_scales(x, None, 127.5)
        np.testing.assert_array_equal(np.array(params["scales"], dtype=F32), scales)
        expected, clipped = quantize(x, scales, [0], -128, 127)
        np.testing.assert_array_equal(q, expected.astype(np.int8))
        self.assertEqual(stats["clipped_count"], clipped)

    def test_explicit_params(self):
        x = self.rng.standard_normal((4, 8)).astype(F32)
        _, params, _, _ = self.quantize_file(x)
        given = self.path("given.params.json")
        with open(given, "w") as f:
            json.dump(params, f)
        y = (x * 2).astype(F32)  # Beyond the params' range: some values clip.
        y_path, q_path = self.path("y.npy"), self.path("qy.npy")
        np.save(y_path, y)
        result = self.quantctl("quantize", "--in", y_path, "--out", q_path, "--params", given)
        with open(self.path("qy.params.json")) as f:
            self.assertEqual(json.load(f), params)
        scales = np.array(params["scales"], dtype=F32)
        expected, clipped = quantize(y, scales, [0], -127, 127)
        self.assertGreater(clipped, 0)
        np.testing.assert_array_equal(np.load(q_path), expected.astype(np.int8))
        self.assertEqual(parse_stats(result.stdout)["clipped_count"], clipped)

    def test_input_dtypes(self):
        x32 = (self.rng.standard_normal((5, 7)) * 4).astype(F32)
        inputs = {
            "float16": (x32.astype(np.float16), np.float16),
            "float64": (x32.astype(np.float64) + 1e-9, np.float64),
            "bfloat16": (bfloat16_bits(x32), np.uint16),  # Raw bits as '<u2'.
        }
        for name, (x, dtype) in inputs.items():
            with self.subTest(input=name):
                q, params, stats, x_prime = self.quantize_file(x, dequantized=True)
                as_f32 = ((x.astype(np.uint32) << 16).view(F32) if name == "bfloat16"
                          else x.astype(F32))
                scales = np.array(params["scales"], dtype=F32)
                np.testing.assert_array_equal(scales, symmetric_scales(as_f32, None, 127))
                expected, _ = quantize(as_f32, scales, [0], -127, 127)
                np.testing.assert_array_equal(q, expected.astype(np.int8))
                self.assertEqual(x_prime.dtype, dtype)  # x' in the input's dtype.
                self.assertEqual(x_prime.shape, x.shape)
                self.assertEqual(stats["count"], x.size)

    def test_dequantize_output_dtypes(self):
        x = (self.rng.standard_normal((6, 9)) * 2).astype(F32)
        q, params, _, _ = self.quantize_file(x, "--granularity", "per_channel", "--axis", 1)
        scales = np.array(params["scales"], dtype=F32)
        x_prime = dequantize(q, scales, [0] * len(scales), 1)
        q_path, p_path = self.path("q.npy"), self.path("q.params.json")
        cases = {
            None: (np.float32, x_prime),
            "float32": (np.float32, x_prime),
            "float16": (np.float16, x_prime.astype(np.float16)),
            "bfloat16": (np.uint16, bfloat16_bits(x_prime)),
        }
        for output_dtype, (dtype, expected) in cases.items():
            with self.subTest(output_dtype=output_dtype):
                out = self.path(f"x2_{output_dtype}.npy")
                flags = [] if output_dtype is None else ["--output_dtype", output_dtype]
                self.quantctl("dequantize", "--in", q_path, "--params", p_path, "--out", out,
                              *flags)
                got = np.load(out)
                self.assertEqual(got.dtype, dtype)
                self.assertEqual(got.shape, x.shape)
                np.testing.assert_array_equal(got, expected)

    def test_dequantize_checks_the_npy_type_against_the_params(self):
        x = self.rng.standard_normal((3, 3)).astype(F32)
        self.quantize_file(x)
        with open(self.path("q.params.json")) as f:
            params = json.load(f)
        params["dtype"] = "DTYPE_UINT8"
        wrong = self.path("wrong.params.json")
        with open(wrong, "w") as f:
            json.dump(params, f)
        result = self.quantctl("dequantize", "--in", self.path("q.npy"), "--params", wrong,
                               "--out", self.path("x2.npy"), expect=1)
        self.assertIn("INVALID_ARGUMENT", result.stderr)
        self.assertIn("'|i1'", result.stderr)

    def test_axis_out_of_range_is_invalid_argument(self):
        x = self.rng.standard_normal((4, 4)).astype(F32)
        np.save(self.path("x.npy"), x)
        result = self.quantctl("quantize", "--in", self.path("x.npy"), "--out", self.path("q.npy"),
                               "--granularity", "per_channel", "--axis", 5, expect=None)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("INVALID_ARGUMENT", result.stderr)
        self.assertIn("axis", result.stderr)
        self.assertFalse(os.path.exists(self.path("q.npy")))

    def test_unsupported_npy_files_are_rejected_naming_the_file(self):
        x = self.rng.standard_normal((3, 4)).astype(F32)
        cases = {
            "fortran.npy": (np.asfortranarray(x), "Fortran"),
            "big_endian.npy": (x.astype(">f4"), "big-endian"),
            "complex.npy": (x.astype(np.complex64), "'<c8'"),
        }
        for name, (array, message) in cases.items():
            with self.subTest(file=name):
                path = self.path(name)
                np.save(path, array)
                result = self.quantctl("quantize", "--in", path, "--out", self.path("q.npy"),
                                       expect=1)
                self.assertIn(path, result.stderr)
                self.assertIn(message, result.stderr)

    def test_matmul_of_int4_weights_and_float_activations(self):
        # Weights [N, K] quantized to INT4 in groups of 64 along K; A as the
        # server quantizes it (INT8 per row, absmax). The integer product,
        # scaled in float64, is numpy's float64 product of the dequantized
        # operands up to the final float32 rounding.
        a = self.rng.standard_normal((5, 128)).astype(F32)
        w = (self.rng.standard_normal((12, 128)) * 0.1).astype(F32)
        q, params, _, _ = self.quantize_file(w, "--dtype", "int4", "--granularity", "per_group",
                                             "--axis", "-1", "--group_size", "64")
        a_path, bias_path, y_path = self.path("a.npy"), self.path("bias.npy"), self.path("y.npy")
        np.save(a_path, a)
        bias = np.arange(12, dtype=F32) / 4
        np.save(bias_path, bias)
        result = self.quantctl("matmul", "--a", a_path, "--b", self.path("q.npy"), "--b_params",
                               self.path("q.params.json"), "--transpose_b", "--bias", bias_path,
                               "--reference_error", "--out", y_path)
        y = np.load(y_path)
        self.assertEqual((y.dtype, y.shape), (np.float32, (5, 12)))
        a_scales = symmetric_scales(a, 0, 127)
        a_q, _ = quantize(a, a_scales, [0] * 5, -127, 127, axis=0)
        w_scales = np.repeat(np.array(params["scales"], np.float64).reshape(12, 2), 64, axis=1)
        want = (a_q * a_scales[:, None].astype(np.float64)) @ (q * w_scales).T + bias
        np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6 * np.abs(want).max())
        stats = parse_stats(result.stdout)
        self.assertEqual(stats["outlier_columns"], 0)
        self.assertEqual(stats["count"], y.size)
        self.assertGreater(stats["sqnr_db"], 15)  # INT4 weights: about 20 dB.
        # Mismatched K: the server's INVALID_ARGUMENT, exit 1.
        np.save(a_path, a[:, :100])
        result = self.quantctl("matmul", "--a", a_path, "--b", self.path("q.npy"), "--b_params",
                               self.path("q.params.json"), "--transpose_b", "--out", y_path, expect=1)
        self.assertIn("INVALID_ARGUMENT", result.stderr)
        self.quantctl("matmul", "--a", a_path, "--out", y_path, expect=2)  # No --b.

    def test_usage_errors_exit_2(self):
        result = self.quantctl("quantize", "--in", "x.npy", "--out", "q.npy", "--dtype", "int3",
                               expect=2)
        self.assertIn("'int3' is not a DType", result.stderr)
        self.quantctl("quantize", "--in", "x.npy", expect=2)


class ShutdownTest(unittest.TestCase):
    """SIGTERM drains the server and it exits 0."""

    def test_sigterm_exits_zero(self):
        server = Server()
        self.addCleanup(server.kill)
        result = run_quantctl(server.port, "health")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(server.terminate(), 0, server.log())
        self.assertIn("drained", server.log())


if __name__ == "__main__":
    if not (os.access(QUANTD, os.X_OK) and os.access(QUANTCTL, os.X_OK)):
        raise SystemExit("set QUANTD_BIN and QUANTCTL_BIN to the quantd and quantctl binaries")
    unittest.main()
