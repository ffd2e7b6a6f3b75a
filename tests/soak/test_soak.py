"""The short soak: quantd_soak drives a real quantd with 16 clients for 25
seconds of mixed calls (every RPC, tiny to 16 MiB, cancelled, given short
deadlines, malformed) and checks every answer against its own arithmetic.
The test passes when no answer was wrong or lost, every RPC was verified,
the server's memory stayed flat after warm-up and went back down once the
load stopped, and quantd still drains and exits 0 afterwards."""

import json
import os
import subprocess
import unittest

from quantd_process import QuantdProcess

SECONDS = 25
WARMUP_SECONDS = 10
# The working set of 16 clients with at most one request above 1 MiB in
# flight is about 100 MB here (quantd keeps freed heap for the next large
# message); after warm-up the server should not grow by more than a
# coincidence of large calls adds, which has stayed below 25 MB.
MAX_WARMUP_MB = 256
MAX_GROWTH_MB = 40
# Once the load stops, quantd gives the kept heap back after
# --idle_release_after (5 s); quantd_soak takes the at-rest RSS 8 s after
# the load.
MAX_REST_GROWTH_MB = 50


class ShortSoakTest(unittest.TestCase):
    def test_mixed_load_is_answered_correctly_and_memory_stays_flat(self):
        with QuantdProcess() as server:
            run = subprocess.run(
                [os.environ["QUANTD_SOAK_BIN"], f"--target={server.target}",
                 f"--server_pid={server.proc.pid}", "--clients=16", f"--seconds={SECONDS}",
                 f"--warmup_seconds={WARMUP_SECONDS}", "--max_large_in_flight=1",
                 f"--max_rss_warmup_mb={MAX_WARMUP_MB}", f"--max_rss_growth_mb={MAX_GROWTH_MB}",
                 f"--max_rss_rest_growth_mb={MAX_REST_GROWTH_MB}", "--seed=20261123"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=SECONDS + 70)
            print(run.stdout, run.stderr, sep="\n")
            report = json.loads(run.stdout.strip().splitlines()[-1])
            self.assertEqual(report["wrong"], 0, report["problems"])
            self.assertEqual(report["lost"], 0, report["problems"])
            self.assertEqual(run.returncode, 0, report["failures"])
            # Every RPC was answered and verified, the faults were exercised.
            for rpc, counts in report["rpcs"].items():
                self.assertGreater(counts["verified"], 0, rpc)
            self.assertGreater(report["cancelled"], 0)
            malformed = {k: v for k, v in report["mix"].items() if k.startswith("malformed_")}
            self.assertEqual(len(malformed), 11, sorted(malformed))
            for what, counts in malformed.items():
                self.assertGreater(counts["rejected"], 0, what)
                self.assertEqual(counts["rejected"] + counts["refused"], counts["calls"], what)
            rss = report["rss_mb"]
            self.assertTrue(rss["server_alive"])
            self.assertLessEqual(rss["growth_after_warmup"], MAX_GROWTH_MB)
            self.assertLessEqual(rss["growth_at_rest"], MAX_REST_GROWTH_MB)
            # After all that, SIGTERM still drains it cleanly.
            self.assertEqual(server.terminate(), 0)


if __name__ == "__main__":
    unittest.main()
