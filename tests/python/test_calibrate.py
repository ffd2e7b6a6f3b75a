"""Calibrate against PyTorch's observers and independent references.

MinMax, moving-average and per-channel observers must give PyTorch's
scales and zero points; PERCENTILE must land within a bin of the exact
percentile; ENTROPY and MSE must pick the thresholds that independent numpy
implementations of TensorRT's KL search and of the expected-error search
pick on the same histogram, on Gaussian, Laplace and heavy-tailed data with
outliers; and shards merged in any order must equal one stream.
"""

import random
import unittest

import numpy as np
import torch
from torch.ao.quantization.observer import (MinMaxObserver, MovingAverageMinMaxObserver,
                                            PerChannelMinMaxObserver)

from quantd.v1 import quantd_pb2 as pb
from test_torch_parity import ServerTestCase, tensor_proto


def tensorrt_kl(hist, i, levels=128):
    """KL divergence of TensorRT's candidate threshold at bin edge i."""
    p = hist[:i].copy()
    p[i - 1] += hist[i:].sum()
    chunk = i // levels
    q = np.zeros(i)
    for j in range(levels):
        lo, hi = j * chunk, (i if j == levels - 1 else (j + 1) * chunk)
        nonzero = hist[lo:hi] != 0
        if nonzero.any():
            q[lo:hi][nonzero] = hist[lo:hi].sum() / nonzero.sum()
    if p.sum() == 0 or q.sum() == 0:
        return np.inf
    p, q = p / p.sum(), q / q.sum()
    mask = p > 0
    return np.inf if (q[mask] == 0).any() else float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def tensorrt_entropy_threshold(hist, width, levels=128):
    """TensorRT's calibration (Migacz, GTC 2017), written from its pseudo-code:
    the bin edge whose clipped, quantized distribution is nearest (KL) to the
    clipped one."""
    hist = np.asarray(hist, dtype=np.float64)
    if len(hist) <= levels:
        return len(hist) * width
    stride = max(1, (len(hist) - levels + 255) // 256)
    best, best_kl = len(hist), np.inf
    for i in range(levels, len(hist) + 1, stride):
        kl = tensorrt_kl(hist, i, levels)
        if kl < best_kl:
            best_kl, best = kl, i
    return best * width


def mse_threshold(hist, width, candidates=128):
    """The symmetric INT8 threshold with the least expected squared error of the
    bin centres, each round trip by torch's fake quantization."""
    centres = torch.tensor((np.arange(len(hist)) + 0.5) * width, dtype=torch.float64)
    counts = torch.tensor(np.asarray(hist, dtype=np.float64))
    amax = len(hist) * width
    best, best_error = amax, np.inf
    for k in range(candidates, 0, -1):
        t = np.float32(amax * k / candidates)
        scale = float(np.float32(t / np.float32(127)))
        y = torch.fake_quantize_per_tensor_affine(centres.float(), scale, 0, -127, 127).double()
        error = float(torch.sum(counts * (centres - y) ** 2))
        if error < best_error:
            best_error, best = error, t
    return float(best)


def magnitude_histogram(state, slot, amax, bins):
    """The state's fine histogram of x folded to |x| and re-binned onto `bins`
    bins over [0, amax], each fine bin shared among the coarse bins it
    overlaps, as the server documents."""
    h = state.histograms[slot]
    fine = np.asarray(h.counts, dtype=np.float64)
    half = len(fine) // 2
    width = h.hi / half
    folded = fine[half:] + fine[:half][::-1]  # Bin k of |x|: [k w, (k + 1) w).
    edges = np.arange(half + 1) * width
    # Cumulative mass at the coarse edges, linear inside each fine bin.
    cumulative = np.concatenate([[0.0], np.cumsum(folded)])
    coarse_edges = np.linspace(0, amax, bins + 1)
    at = np.interp(coarse_edges, edges, cumulative)
    out = np.diff(at)
    out[-1] += cumulative[-1] - at[-1]  # Mass beyond amax (inside its fine bin).
    return out


class CalibrateTest(ServerTestCase):
    SEED = 5

    def calibrate(self, batches, merge=(), **options):
        opts = pb.CalibrateOptions(**options)
        opts.merge.extend(merge)
        requests = [pb.CalibrateRequest(options=opts)] + [
            pb.CalibrateRequest(batch=tensor_proto(b)) for b in batches]
        return self.stub.Calibrate(iter(requests))

    def data(self, kind, n=200_000, batches=8):
        rng = self.rng
        if kind == "gaussian":
            x = rng.standard_normal(n)
        elif kind == "laplace":
            x = rng.laplace(size=n)
        else:  # Heavy tails (Student t, 3 dof) with a few large outliers.
            x = rng.standard_t(3, size=n)
            x[rng.integers(0, n, 20)] = rng.choice([-1, 1], 20) * 60
        return [b.astype(np.float32) for b in np.array_split(x, batches)]

    def test_minmax_observers_equal_torch(self):
        batches = [(self.rng.standard_normal((16, 6)) * [1, 2, 3, 4, 5, 6] + 0.5).astype(np.float32)
                   for _ in range(5)]
        cases = [
            (dict(dtype=pb.DTYPE_UINT8), MinMaxObserver(dtype=torch.quint8)),
            (dict(dtype=pb.DTYPE_INT8, full_range=True),
             MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)),
            (dict(dtype=pb.DTYPE_UINT8, method=pb.RANGE_METHOD_MOVING_AVERAGE_MINMAX),
             MovingAverageMinMaxObserver(dtype=torch.quint8)),
            (dict(dtype=pb.DTYPE_UINT8, method=pb.RANGE_METHOD_MOVING_AVERAGE_MINMAX,
                  averaging_constant=0.25),
             MovingAverageMinMaxObserver(averaging_constant=0.25, dtype=torch.quint8)),
            (dict(dtype=pb.DTYPE_UINT8, granularity=pb.GRANULARITY_PER_CHANNEL, axis=1),
             PerChannelMinMaxObserver(ch_axis=1, dtype=torch.quint8, qscheme=torch.per_channel_affine)),
        ]
        for options, observer in cases:
            with self.subTest(options=options):
                for b in batches:
                    observer(torch.from_numpy(b))
                scale, zero_point = observer.calculate_qparams()
                r = self.calibrate(batches, **options)
                np.testing.assert_array_equal(np.array(r.params.scales, np.float32),
                                              scale.numpy().reshape(-1))
                want_zp = zero_point.numpy().reshape(-1)
                got_zp = np.array(r.params.zero_points or [0] * len(r.params.scales))
                np.testing.assert_array_equal(got_zp, want_zp)

    def test_percentile_is_within_a_bin_of_the_exact_percentile(self):
        for kind in ("gaussian", "laplace", "heavy"):
            batches = self.data(kind)
            r = self.calibrate(batches, dtype=pb.DTYPE_INT8, method=pb.RANGE_METHOD_PERCENTILE,
                               percentile=99.9)
            mags = np.abs(np.concatenate(batches).astype(np.float64))
            exact = np.quantile(mags, 0.999)
            self.assertLessEqual(abs(r.stats.clip_max[0] - exact), mags.max() / 2048, kind)

    def test_entropy_and_mse_match_independent_references(self):
        for kind in ("gaussian", "laplace", "heavy"):
            batches = self.data(kind)
            amax = float(np.abs(np.concatenate(batches)).max())
            for method, reference in ((pb.RANGE_METHOD_ENTROPY, tensorrt_entropy_threshold),
                                      (pb.RANGE_METHOD_MSE, mse_threshold)):
                with self.subTest(kind=kind, method=pb.RangeMethod.Name(method)):
                    r = self.calibrate(batches, dtype=pb.DTYPE_INT8, method=method)
                    hist = magnitude_histogram(r.state, 0, amax, 2048)
                    want = reference(hist, amax / 2048)
                    self.assertAlmostEqual(r.stats.clip_max[0], want, delta=1e-6 * amax)
                    # MSE on the exact histogram of the data picks nearly the
                    # same threshold. (Not so ENTROPY: on an exact histogram
                    # every candidate edge at an empty tail bin has infinite
                    # divergence, so its choice follows the sparsity of the
                    # sample; the server's histogram is smooth there.)
                    if method == pb.RANGE_METHOD_MSE:
                        exact_hist, _ = np.histogram(np.abs(np.concatenate(batches)), 2048, (0, amax))
                        exact = reference(exact_hist.astype(np.float64), amax / 2048)
                        self.assertLessEqual(abs(exact - want), 0.03 * amax)
                    # Entropy clips heavy tails well inside the outliers
                    # (MSE rightly keeps 20 outliers at 60: clipping them
                    # would cost more than the rounding noise it saves).
                    if kind == "heavy" and method == pb.RANGE_METHOD_ENTROPY:
                        self.assertLess(r.stats.clip_max[0], 0.5 * amax)

    def test_shards_merged_in_any_order_equal_one_stream(self):
        batches = self.data("laplace", n=70_000, batches=14)
        for method in (pb.RANGE_METHOD_MINMAX, pb.RANGE_METHOD_ENTROPY, pb.RANGE_METHOD_PERCENTILE):
            whole = self.calibrate(batches, dtype=pb.DTYPE_INT8, method=method)
            for shards in (1, 2, 7):
                order = batches[:]
                random.Random(shards).shuffle(order)
                states = [self.calibrate(order[s::shards], dtype=pb.DTYPE_INT8, method=method).state
                          for s in range(shards)]
                states.reverse()
                merged = self.calibrate([], merge=states, dtype=pb.DTYPE_INT8, method=method)
                self.assertEqual(list(merged.params.scales), list(whole.params.scales),
                                 (pb.RangeMethod.Name(method), shards))

    def test_a_thousand_batch_stream_keeps_server_memory_flat(self):
        # 1,000 batches of 1 MiB (1 GiB in all), per channel with 256
        # histograms: the server holds one batch and the state, so its
        # resident memory after the stream is what it was after the first
        # hundred batches (warm-up: allocator arenas, gRPC buffers).
        batch = tensor_proto(self.rng.standard_normal((1024, 256)).astype(np.float32))
        options = pb.CalibrateOptions(dtype=pb.DTYPE_INT8, method=pb.RANGE_METHOD_PERCENTILE,
                                      granularity=pb.GRANULARITY_PER_CHANNEL, axis=1)
        samples = {}

        def requests():
            yield pb.CalibrateRequest(options=options)
            for b in range(1000):
                if b in (100, 999):
                    samples[b] = self.server.rss_bytes()
                yield pb.CalibrateRequest(batch=batch)

        r = self.stub.Calibrate(requests())
        self.assertEqual(r.stats.batches_seen, 1000)
        growth = samples[999] - samples[100]
        print(f"\nserver RSS after 100 batches {samples[100] >> 20} MiB, "
              f"after 999 {samples[999] >> 20} MiB")
        self.assertLess(growth, 32 << 20, samples)

    def test_params_feed_quantize(self):
        batches = self.data("gaussian", n=4096, batches=4)
        r = self.calibrate(batches, dtype=pb.DTYPE_UINT8, method=pb.RANGE_METHOD_ENTROPY)
        q = self.stub.Quantize(pb.QuantizeRequest(input=tensor_proto(batches[0]),
                                                  options=pb.QuantizeOptions(params=r.params)))
        self.assertEqual(q.params.scales, r.params.scales)
        self.assertGreater(q.error.sqnr_db, 20)


if __name__ == "__main__":
    unittest.main()
