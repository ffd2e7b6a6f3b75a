"""quantd_client's Calibrate against the real quantd: batches streamed as a
generator yields them, shards merged from their states equal to one stream,
torch batches, and a failing generator cancelling the call instead of
completing it with the batches sent so far."""

import unittest

import grpc
import numpy as np
import torch

from client_test_case import ClientTestCase, metric_sum
from quantd_client import CalibrateResult, QuantdError


class PythonClientCalibrateTest(ClientTestCase):
    SEED = 9

    def batches(self, count=6, shape=(512, 8)):
        return [(self.rng.laplace(size=shape) * [1, 2, 3, 4, 5, 6, 7, 8]).astype(np.float32)
                for _ in range(count)]

    def test_shards_merged_from_their_states_equal_one_stream(self):
        batches = self.batches()
        for method, keywords in (("minmax", dict(dtype="uint8")),
                                 ("percentile", dict(dtype="int8", percentile=99.9)),
                                 ("entropy", dict(dtype="int8", granularity="per_channel", axis=1))):
            with self.subTest(method=method):
                whole = self.client.calibrate(iter(batches), method, **keywords)
                first = self.client.calibrate(batches[:2], method, **keywords)
                second = self.client.calibrate(batches[2:], method, **keywords)
                # States as the message and as stored bytes; no batches: combine only.
                merged = self.client.calibrate([], method, merge=[second.state_bytes, first], **keywords)
                self.assertIsInstance(merged, CalibrateResult)
                self.assertEqual(merged.params, whole.params)
                self.assertEqual(merged.stats.batches_seen, 6)
                self.assertEqual(merged.stats.values_seen, sum(b.size for b in batches))
                np.testing.assert_array_equal(merged.stats.clip_max, whole.stats.clip_max)
                channels = 8 if keywords.get("granularity") else 1
                self.assertEqual(merged.stats.observed_max.shape, (channels,))
                np.testing.assert_array_equal(merged.stats.observed_max,
                                              np.concatenate(batches).max(axis=0) if channels > 1
                                              else [np.concatenate(batches).max()])
                # The params feed quantize unchanged.
                q = self.client.quantize(batches[0], params=merged.params)
                self.assertEqual(q.params, merged.params)

    def test_torch_batches_of_every_float_type(self):
        batches = self.batches(count=3)
        want = self.client.calibrate(batches, "percentile")
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            with self.subTest(dtype=dtype):
                tensors = [torch.from_numpy(b).to(dtype) for b in batches]
                same = [t.float().numpy() for t in tensors]
                expect = want if dtype == torch.float32 else self.client.calibrate(same, "percentile")
                self.assertEqual(self.client.calibrate(tensors, "percentile").params, expect.params)

    def test_batches_are_sent_as_the_generator_yields_them(self):
        # When the generator makes batch k, the server has observed all but
        # the few in flight: the batches are never gathered first.
        values = 1 << 18  # 1 MiB batches.
        before = metric_sum(self.server, "quantd_elements_total", op="calibrate")
        ahead = []

        def generate():
            for k in range(40):
                seen = (metric_sum(self.server, "quantd_elements_total", op="calibrate") - before) / values
                ahead.append(k - seen)
                yield np.full(values, k, np.float32)

        r = self.client.calibrate(generate())
        self.assertEqual(r.stats.batches_seen, 40)
        self.assertLessEqual(max(ahead), 8, ahead)

    def test_a_failing_generator_cancels_the_call_and_raises_its_error(self):
        batches = self.batches(count=2)

        def failing():
            yield from batches
            raise OSError("the third batch cannot be read")

        def not_float():
            yield batches[0]
            yield np.arange(10)

        for generator, error, message in ((failing, OSError, "third batch"), (not_float, TypeError, "batch 1")):
            with self.subTest(error=error.__name__):
                done = metric_sum(self.server, "quantd_calibrations_total")
                with self.assertRaisesRegex(error, message):
                    self.client.calibrate(generator())
                # No calibration was completed from the batches that were sent.
                self.assertEqual(metric_sum(self.server, "quantd_calibrations_total"), done)
        self.assertEqual(self.client.calibrate(batches).stats.batches_seen, 2)

    def test_refusals_raise_quantd_error(self):
        bad = self.batches(count=2)
        bad[1][3, 3] = np.inf
        moving = self.client.calibrate(bad[:1], "moving_average_minmax", "uint8")
        cases = [
            ("Inf in batch 1", lambda: self.client.calibrate(bad)),
            ("merging a moving average", lambda: self.client.calibrate(
                [], "moving_average_minmax", "uint8", merge=[moving])),
            ("states of another target", lambda: self.client.calibrate(
                [], "minmax", "uint8", merge=[self.client.calibrate(bad[:1], "minmax", "int8")])),
        ]
        for what, call in cases:
            with self.subTest(what), self.assertRaises(QuantdError) as raised:
                call()
            self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaisesRegex(TypeError, "CalibrationState"):
            self.client.calibrate([], merge=["not a state"])


if __name__ == "__main__":
    unittest.main()
