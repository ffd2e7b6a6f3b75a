#!/usr/bin/env python3
"""quantctl quantize-checkpoint and dequantize-checkpoint against a real
quantd: the .safetensors files are written and read here by hand, and the
expected codes recomputed with numpy as API.md specifies them."""

import glob
import json
import os
import struct
import subprocess
import tempfile
import unittest

import numpy as np

from checkpoint_util import (QUANTCTL, Safetensors, Server, raw_file, run_quantctl,
                             safetensors_bytes, write_safetensors)
from test_quantctl import bfloat16_bits, quantize as np_quantize, symmetric_scales

F32 = np.float32


def group_scales(x, group, qmax):
    """Symmetric scales per group of `group` along the last axis of 2-D x."""
    rows, cols = x.shape
    blocks = -(-cols // group)
    amax = np.zeros((rows, blocks), dtype=F32)
    for b in range(blocks):
        amax[:, b] = np.abs(x[:, b * group:(b + 1) * group]).max(axis=1)
    scales = (amax / F32(qmax)).astype(F32)
    return np.where(amax == 0, F32(1), np.maximum(scales, np.finfo(F32).tiny)).astype(F32)


def unpack_int4(packed, count):
    low = (packed & 0x0F).astype(np.int8)
    high = (packed >> 4).astype(np.int8)
    codes = np.empty(packed.size * 2, dtype=np.int8)
    codes[0::2], codes[1::2] = low, high
    codes = codes[:count]
    return np.where(codes >= 8, codes - 16, codes).astype(np.int8)


class CheckpointTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="quantctl_checkpoint_")
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = tmp.name
        cls.server = Server()
        cls.addClassCleanup(cls.server.kill)
        cls.rng = np.random.default_rng(7)

    def path(self, name):
        return os.path.join(self.dir, f"{self._testMethodName}_{name}")

    def quantctl(self, *args, expect=0):
        result = run_quantctl(self.server.target, *args)
        if expect is not None:
            self.assertEqual(result.returncode, expect,
                             f"quantctl {' '.join(map(str, args))}\nstdout:\n{result.stdout}"
                             f"\nstderr:\n{result.stderr}\nserver:\n{self.server.log()[-3000:]}")
        return result

    def no_partial_files(self):
        self.assertEqual(glob.glob(os.path.join(self.dir, "*.partial-*")), [])

    def test_int8_per_channel_checkpoint(self):
        rng = self.rng
        tensors = {
            "layers.0.attn.q_proj.weight": rng.standard_normal((64, 96)).astype(F32),
            "layers.0.attn.q_proj.bias": rng.standard_normal(64).astype(F32),
            "layers.0.mlp.up.weight": (rng.standard_normal((48, 64)) * 3).astype(np.float16),
            "layers.0.norm.weight": rng.standard_normal(64).astype(F32),
            "layers.0.norm_2d.weight": rng.standard_normal((4, 64)).astype(F32),
            "embed.weight": rng.standard_normal((32, 16)).astype(F32),
            "big.weight": rng.standard_normal((256, 512)).astype(F32),  # 512 KiB: streamed
            "step": np.array(1234, dtype=np.int64),
            "layers.0.zero.weight": np.zeros((8, 8), dtype=F32),
            "final_ln.weight": rng.standard_normal(64).astype(F32),
        }
        src, out, back = self.path("in.safetensors"), self.path("q.safetensors"), self.path("x2.safetensors")
        write_safetensors(src, tensors, {"format": "pt", "note": "test"})
        before_stream = self.server.handled("QuantizeStream")
        before_unary = self.server.handled("Quantize")
        result = self.quantctl("quantize-checkpoint", "--in", src, "--out", out,
                               "--include=*.weight", "--exclude=*norm*,embed.*",
                               "--stream_threshold=262144", "--progress=lines", "--concurrency=3")
        self.no_partial_files()
        q = Safetensors(out)

        quantized = ["layers.0.attn.q_proj.weight", "layers.0.mlp.up.weight", "big.weight",
                     "layers.0.zero.weight"]
        for name in quantized:
            x = tensors[name].astype(F32)
            self.assertEqual(q.dtype(name), "I8")
            self.assertEqual(q.shape(name), list(x.shape))
            self.assertEqual(q.dtype(name + ".scales"), "F32")
            self.assertEqual(q.shape(name + ".scales"), [x.shape[0]])
            self.assertNotIn(name + ".zero_points", q.header)
            scales = symmetric_scales(x, 0, 127)
            codes, _ = np_quantize(x, scales, np.zeros_like(scales, dtype=np.int32), -127, 127, axis=0)
            np.testing.assert_array_equal(q.array(name + ".scales"), scales, err_msg=name)
            np.testing.assert_array_equal(q.array(name), codes.astype(np.int8), err_msg=name)
            params = q.params(name)
            self.assertEqual(params["dtype"], "INT8")
            self.assertEqual(params["scheme"], "SYMMETRIC")
            self.assertEqual(params["granularity"], "PER_CHANNEL")
            self.assertEqual(params["axis"], 0)
            self.assertEqual(params["shape"], list(x.shape))
            self.assertEqual(params["source_dtype"], "F16" if x is not tensors[name] and
                             tensors[name].dtype == np.float16 else params["source_dtype"])
            self.assertEqual(params["scales"], name + ".scales")
            self.assertIn(name, result.stdout)
        self.assertEqual(q.params("layers.0.mlp.up.weight")["source_dtype"], "F16")
        self.assertEqual(q.params("big.weight")["source_dtype"], "F32")

        # Copied tensors are byte-identical, with their dtype and shape.
        for name in ["layers.0.attn.q_proj.bias", "layers.0.norm.weight",
                     "layers.0.norm_2d.weight", "embed.weight", "step", "final_ln.weight"]:
            self.assertEqual(q.raw(name), tensors[name].tobytes(), name)
            self.assertEqual(q.shape(name), list(tensors[name].shape))
            self.assertNotIn("quantd.params." + name, q.metadata)
        self.assertEqual(q.dtype("step"), "I64")
        self.assertEqual(q.metadata["format"], "pt")
        self.assertEqual(q.metadata["note"], "test")
        self.assertEqual(q.metadata["quantd.format"], "quantd-checkpoint/1")

        # The table: a row per tensor, the totals; one plain progress line each.
        for name in tensors:
            self.assertRegex(result.stdout, rf"(?m)^{name.replace('.', '[.]')}\s")
        self.assertIn("total: 10 tensors, 4 quantized (1 streamed), 6 copied", result.stdout)
        self.assertRegex(result.stdout, r"(?m)^big\.weight .* F32 -> INT8 \(I8\) stream\s+\d+\.\d+")
        self.assertRegex(result.stdout, r"copied \(1-D\)")
        self.assertRegex(result.stdout, r"copied \(excluded\)")
        self.assertEqual(len([l for l in result.stderr.splitlines() if l.startswith("[")]), 10,
                         result.stderr)
        self.assertNotIn("\r", result.stderr)

        # big.weight went through QuantizeStream, the other three through Quantize.
        self.assertEqual(self.server.handled("QuantizeStream") - before_stream, 1)
        self.assertEqual(self.server.handled("Quantize") - before_unary, 3)

        # The round trip: x' = q * scale, in the source dtype.
        result = self.quantctl("dequantize-checkpoint", "--in", out, "--out", back,
                               "--stream_threshold=262144", "--progress=none")
        self.no_partial_files()
        d = Safetensors(back)
        self.assertEqual(sorted(d.names()), sorted(tensors))
        self.assertEqual({k: v for k, v in d.metadata.items()}, {"format": "pt", "note": "test"})
        for name in quantized:
            expected = (q.array(name).astype(F32) * q.array(name + ".scales")[:, None]).astype(F32)
            self.assertEqual(d.dtype(name), "F16" if tensors[name].dtype == np.float16 else "F32")
            np.testing.assert_array_equal(d.array(name).astype(F32),
                                          expected.astype(tensors[name].dtype).astype(F32), name)
        for name in ["layers.0.attn.q_proj.bias", "embed.weight", "step"]:
            self.assertEqual(d.raw(name), tensors[name].tobytes())
        self.assertIn("total: 10 tensors, 4 dequantized, 6 copied", result.stdout)

    def test_int4_per_group_codes_and_packing(self):
        x = self.rng.standard_normal((16, 80)).astype(F32)  # 80 = 2 groups of 32 and 16
        odd = self.rng.standard_normal((5, 7)).astype(F32)
        src, out = self.path("in.safetensors"), self.path("q.safetensors")
        write_safetensors(src, {"w": x, "odd": odd})
        self.quantctl("quantize-checkpoint", "--in", src, "--out", out, "--dtype=int4",
                      "--group_size=32", "--progress=none")
        q = Safetensors(out)
        self.assertEqual(q.dtype("w"), "U8")
        self.assertEqual(q.shape("w"), [16, 40])
        self.assertEqual(q.shape("w.scales"), [16, 3])
        params = q.params("w")
        self.assertEqual((params["dtype"], params["granularity"], params["axis"], params["group_size"]),
                         ("INT4", "PER_GROUP", 1, 32))
        scales = group_scales(x, 32, 7)
        np.testing.assert_array_equal(q.array("w.scales"), scales)
        expanded = np.repeat(scales, 32, axis=1)[:, :80]
        expected = np.clip(np.rint((x * (F32(1) / expanded)).astype(F32).astype(np.float64)), -7, 7)
        np.testing.assert_array_equal(unpack_int4(q.array("w").ravel(), x.size).reshape(x.shape),
                                      expected.astype(np.int8))
        # An odd last dimension: the packed bytes are stored flat.
        self.assertEqual(q.shape("odd"), [18])
        self.assertEqual(q.params("odd")["shape"], [5, 7])
        self.assertEqual(q.shape("odd.scales"), [5, 1])

    def test_tensors_above_the_message_limit_stream(self):
        x = self.rng.standard_normal((1024, 512)).astype(F32)  # 2 MiB
        src, out = self.path("in.safetensors"), self.path("q.safetensors")
        write_safetensors(src, {"w": x, "v": x[:8]})
        before = self.server.handled("QuantizeStream")
        result = self.quantctl("--max_message_bytes=3000000", "quantize-checkpoint", "--in", src,
                               "--out", out, "--progress=none")
        self.assertIn("2 quantized (1 streamed)", result.stdout)
        self.assertEqual(self.server.handled("QuantizeStream") - before, 1)
        scales = symmetric_scales(x, 0, 127)
        codes, _ = np_quantize(x, scales, np.zeros_like(scales, dtype=np.int32), -127, 127, axis=0)
        np.testing.assert_array_equal(Safetensors(out).array("w"), codes.astype(np.int8))

    def test_bfloat16_source(self):
        bits = bfloat16_bits(self.rng.standard_normal((32, 64)).astype(F32))
        x = (bits.astype(np.uint32) << 16).view(F32)  # The values the file holds.
        src, out, back = (self.path(n) for n in ("in.safetensors", "q.safetensors", "x2.safetensors"))
        write_safetensors(src, {"w": ("BF16", bits)})
        self.quantctl("quantize-checkpoint", "--in", src, "--out", out, "--progress=none")
        q = Safetensors(out)
        scales = symmetric_scales(x, 0, 127)
        codes, _ = np_quantize(x, scales, np.zeros_like(scales, dtype=np.int32), -127, 127, axis=0)
        np.testing.assert_array_equal(q.array("w"), codes.astype(np.int8))
        self.assertEqual(q.params("w")["source_dtype"], "BF16")
        self.quantctl("dequantize-checkpoint", "--in", out, "--out", back, "--progress=none")
        d = Safetensors(back)
        self.assertEqual(d.dtype("w"), "BF16")
        expected = (codes.astype(F32) * scales[:, None]).astype(F32)
        np.testing.assert_array_equal(d.array("w"), bfloat16_bits(expected))

    def test_progress_bar_is_redrawn_in_place(self):
        src, out = self.path("in.safetensors"), self.path("q.safetensors")
        write_safetensors(src, {f"w{i}": np.ones((8, 8), dtype=F32) for i in range(3)})
        # Bytes: text mode would turn each \r into a newline.
        result = subprocess.run([QUANTCTL, f"--target={self.server.target}", "quantize-checkpoint",
                                 "--in", src, "--out", out, "--progress=bar"],
                                capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        stderr = result.stderr.decode()
        self.assertTrue(stderr.startswith("\r["), stderr)
        self.assertTrue(stderr.endswith("\n"))
        self.assertNotIn("\n", stderr[:-1])
        last = stderr.rstrip("\n").split("\r")[-1]
        self.assertRegex(last, r"^\[#+\] 100%  3/3 tensors  768 B/768 B  .*/s  ETA 0s")

    def test_asymmetric_nf4_fp8_round_trip(self):
        x = (self.rng.standard_normal((32, 256)) + 0.5).astype(F32)
        src = self.path("in.safetensors")
        write_safetensors(src, {"a.weight": x})
        for dtype, stored, bound in [("uint8", "U8", 0.02), ("nf4", "U8", 0.5),
                                     ("fp8", "F8_E4M3", 0.15), ("fp8_e5m2", "F8_E5M2", 0.3)]:
            out, back = self.path(dtype + ".safetensors"), self.path(dtype + "_back.safetensors")
            self.quantctl("quantize-checkpoint", "--in", src, "--out", out, "--dtype", dtype,
                          "--progress=none")
            q = Safetensors(out)
            self.assertEqual(q.dtype("a.weight"), stored, dtype)
            if dtype == "uint8":
                self.assertEqual(q.params("a.weight")["scheme"], "ASYMMETRIC")
                self.assertEqual(q.dtype("a.weight.zero_points"), "I32")
                self.assertEqual(q.shape("a.weight.zero_points"), [32])
            else:
                self.assertNotIn("a.weight.zero_points", q.header)
            self.quantctl("dequantize-checkpoint", "--in", out, "--out", back, "--progress=none")
            x2 = Safetensors(back).array("a.weight")
            self.assertEqual(x2.dtype, np.float32)
            rel = np.abs(x2 - x).max() / np.abs(x).max()
            self.assertLess(rel, bound, dtype)

    def test_malformed_files_are_refused_clearly(self):
        good = safetensors_bytes({"w": np.ones((4, 4), dtype=F32)})
        w = {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}
        data = bytes(64)
        cases = {
            "truncated": (good[:-10], "beyond the data section"),
            "tiny": (b"\x01\x02", "shorter than the 8-byte header length"),
            "header_past_end": (struct.pack("<Q", 500) + b"{}", "header length is 500 bytes but only 2"),
            "huge_header": (struct.pack("<Q", 1 << 40) + b"{}", "above the 100000000 allowed"),
            "bad_json": (raw_file(b'{"w": {"dtype": "F32",', data), "not valid JSON"),
            "not_object": (raw_file(b"[1, 2]    ", data), "must be a JSON object"),
            "bad_offsets": (raw_file({"w": dict(w, data_offsets=[0, 128])}, data), "end beyond the data section"),
            "reversed_offsets": (raw_file({"w": dict(w, data_offsets=[64, 0])}, data), "begin <= end"),
            "size_mismatch": (raw_file({"w": dict(w, shape=[4, 5])}, data), "is 80 bytes but data_offsets [0,64] span 64"),
            "overlap": (raw_file({"w": w, "v": dict(w, shape=[4], data_offsets=[32, 48])}, data), "overlap"),
            "unknown_dtype": (raw_file({"w": dict(w, dtype="F13")}, data), 'unknown dtype "F13"'),
            "negative_dim": (raw_file({"w": dict(w, shape=[-4, -4])}, data), "non-negative integers"),
            "missing_field": (raw_file({"w": {"dtype": "F32", "shape": [4, 4]}}, data), 'no "data_offsets"'),
            "duplicate": (raw_file(b'{"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}, '
                                   b'"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}', data),
                          'the key "w" twice'),
            "metadata_not_strings": (raw_file({"__metadata__": {"a": 1}, "w": w}, data), "must be a string"),
        }
        for case, (blob, message) in cases.items():
            src, out = self.path(case + ".safetensors"), self.path(case + "_out.safetensors")
            with open(src, "wb") as f:
                f.write(blob)
            result = self.quantctl("quantize-checkpoint", "--in", src, "--out", out, expect=1)
            self.assertIn("INVALID_ARGUMENT", result.stderr, case)
            self.assertIn(message, result.stderr, case)
            self.assertIn(src, result.stderr, case)
            self.assertFalse(os.path.exists(out), case)
        self.no_partial_files()
        result = self.quantctl("quantize-checkpoint", "--in", self.path("missing"), "--out",
                               self.path("o"), expect=1)
        self.assertIn("NOT_FOUND", result.stderr)

    def test_a_failing_tensor_stops_the_run_and_leaves_no_file(self):
        bad = np.ones((8, 8), dtype=F32)
        bad[3, 3] = np.nan
        tensors = {f"ok{i}.weight": self.rng.standard_normal((16, 16)).astype(F32) for i in range(6)}
        tensors["broken.weight"] = bad
        src, out = self.path("in.safetensors"), self.path("q.safetensors")
        write_safetensors(src, tensors)
        with open(out, "wb") as f:
            f.write(b"an older file")
        result = self.quantctl("quantize-checkpoint", "--in", src, "--out", out, "--progress=none",
                               expect=1)
        self.assertIn('quantctl: INVALID_ARGUMENT: tensor "broken.weight": ', result.stderr)
        self.assertIn("nan is not a finite", result.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"an older file")  # Not replaced by a partial file.
        self.no_partial_files()

    def test_usage_errors(self):
        src = self.path("in.safetensors")
        write_safetensors(src, {"w": np.ones((2, 2), dtype=F32)})
        for flags in (["--concurrency=0"], ["--dtype=ternary"], ["--progress=fancy"],
                      ["--stream_threshold=-1"], ["--group_size=0", "--dtype=int4"],
                      ["--group_size=64"], ["--params=p.json"]):
            result = self.quantctl("quantize-checkpoint", "--in", src, "--out", self.path("o"),
                                   *flags, expect=2)
            self.assertIn("quantctl: ", result.stderr)
        self.quantctl("quantize-checkpoint", "--in", src, expect=2)
        self.quantctl("quantize-checkpoint", "--in", src, "--out", src, expect=2)
        self.quantctl("dequantize-checkpoint", "--in", src, "--out", self.path("o"),
                      "--include=*", expect=2)
        # A plain checkpoint is not a quantized one, and the reverse.
        result = self.quantctl("dequantize-checkpoint", "--in", src, "--out", self.path("o"), expect=1)
        self.assertIn("not a checkpoint written by quantize-checkpoint", result.stderr)
        q = self.path("q.safetensors")
        self.quantctl("quantize-checkpoint", "--in", src, "--out", q, "--progress=none")
        result = self.quantctl("quantize-checkpoint", "--in", q, "--out", self.path("o"), expect=1)
        self.assertIn("already a quantized checkpoint", result.stderr)
        # A list of host names cannot be balanced without DNS.
        result = run_quantctl("hosta:1,hostb:2", "quantize-checkpoint", "--in", src, "--out",
                              self.path("o"))
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("dns:///", result.stderr)


if __name__ == "__main__":
    unittest.main()
