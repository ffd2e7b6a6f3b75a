#!/usr/bin/env python3
"""quantize-checkpoint spread over three quantd replicas with gRPC's
round_robin: three processes on loopback ports, one checkpoint; every
replica does part of the work, and the file is byte-identical to the one a
single replica writes."""

import os
import tempfile
import unittest

import numpy as np

from checkpoint_util import Safetensors, Server, run_quantctl, write_safetensors


class ScaleOutTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        tmp = tempfile.TemporaryDirectory(prefix="quantctl_scale_out_")
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = tmp.name
        cls.servers = []
        for _ in range(3):
            server = Server()
            cls.addClassCleanup(server.kill)
            cls.servers.append(server)

    def run_checkpoint(self, target, out, *flags):
        result = run_quantctl(target, "quantize-checkpoint", "--in", self.src, "--out", out,
                              "--progress=none", *flags)
        self.assertEqual(result.returncode, 0, f"{result.stdout}\n{result.stderr}")
        return result

    def test_three_replicas_share_the_work_and_agree_with_one(self):
        rng = np.random.default_rng(3)
        tensors = {}
        for layer in range(12):
            tensors[f"layers.{layer}.attn.weight"] = rng.standard_normal((128, 256)).astype(np.float32)
            tensors[f"layers.{layer}.mlp.weight"] = rng.standard_normal((256, 128)).astype(np.float16)
            tensors[f"layers.{layer}.norm.weight"] = rng.standard_normal(128).astype(np.float32)
        # Two tensors above the threshold, streamed.
        tensors["embed.weight"] = rng.standard_normal((512, 256)).astype(np.float32)
        tensors["lm_head.weight"] = rng.standard_normal((512, 256)).astype(np.float32)
        self.src = os.path.join(self.dir, "model.safetensors")
        write_safetensors(self.src, tensors)
        quantized = len([n for n in tensors if not n.endswith("norm.weight")])

        for dtype in ("int8", "nf4"):
            with self.subTest(dtype=dtype):
                flags = ["--dtype", dtype, "--stream_threshold=262144", "--concurrency=6"]
                before = [(s.handled("Quantize"), s.handled("QuantizeStream")) for s in self.servers]
                spread = os.path.join(self.dir, f"spread_{dtype}.safetensors")
                target = ",".join(s.target for s in self.servers)
                self.run_checkpoint(target, spread, *flags)
                calls = [(s.handled("Quantize") - u, s.handled("QuantizeStream") - st)
                         for s, (u, st) in zip(self.servers, before)]
                for i, (unary, stream) in enumerate(calls):
                    self.assertGreater(unary + stream, 0, f"replica {i} did no work: {calls}")
                self.assertEqual(sum(u for u, _ in calls), quantized - 2, calls)
                self.assertEqual(sum(s for _, s in calls), 2, calls)

                # One replica, named through gRPC's DNS resolver.
                single = os.path.join(self.dir, f"single_{dtype}.safetensors")
                self.run_checkpoint(f"dns:///localhost:{self.servers[1].port}", single, *flags)
                with open(spread, "rb") as a, open(single, "rb") as b:
                    self.assertTrue(a.read() == b.read(), "the outputs differ")
                self.assertEqual(len(Safetensors(single).names()), len(tensors) + quantized)


if __name__ == "__main__":
    unittest.main()
