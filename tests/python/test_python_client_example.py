"""client/python/examples/quantize_state_dict.py run as a user runs it,
against a real quantd: every weight matrix is reported, int8 per channel
keeps the model's output within 5 %, and 4-bit formats cost more but stay
usable."""

import os
import re
import subprocess
import sys
import unittest

from quantd_process import QuantdProcess

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                       "client", "python", "examples", "quantize_state_dict.py")
MATRICES = ["0.weight", "1.self_attn.in_proj_weight", "1.self_attn.out_proj.weight",
            "1.linear1.weight", "1.linear2.weight", "2.weight"]


class ExampleTest(unittest.TestCase):
    def run_example(self, server, *args):
        done = subprocess.run([sys.executable, EXAMPLE, "--target", server.target, *args],
                              capture_output=True, text=True, timeout=240)
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = dict(re.findall(r"^(\S+)\s+\d+x\d+\s+(\S+)$", done.stdout, re.M))
        error = float(re.search(r"^output relative error: (\S+)$", done.stdout, re.M).group(1))
        return {name: float(sqnr) for name, sqnr in rows.items()}, error

    def test_int8_and_4_bit_formats(self):
        with QuantdProcess() as server:
            sqnr, int8_error = self.run_example(server, "--format", "int8")
            self.assertEqual(sorted(sqnr), sorted(MATRICES))
            self.assertGreater(min(sqnr.values()), 35)
            self.assertLess(int8_error, 0.05)
            for fmt in ("int4", "nf4"):
                with self.subTest(format=fmt):
                    sqnr, error = self.run_example(server, "--format", fmt, "--group_size", "32")
                    self.assertEqual(sorted(sqnr), sorted(MATRICES))
                    self.assertTrue(15 < min(sqnr.values()) and max(sqnr.values()) < 30, sqnr)
                    self.assertLess(error, 0.3)
                    self.assertGreater(error, int8_error)


if __name__ == "__main__":
    unittest.main()
