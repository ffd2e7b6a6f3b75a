"""PyTorch's quantize_per_tensor, quantize_per_channel and dequantize on the
data and sizes of kernels_bench.cc, one line of JSON per measurement:
{"name", "n", "threads", "seconds"} (the median of the runs)."""

import json
import os
import sys
import time

import torch


def median_seconds(fn, runs):
    fn()  # Warm up: first-touch page faults belong to no one.
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main():
    all_threads = os.cpu_count() or 1
    torch.manual_seed(1)
    for n in (1 << 20, 1 << 24, 1 << 26):
        x = torch.randn(n)
        rows = x.view(n // 1024, 1024)
        scales = torch.full((n // 1024,), 0.03, dtype=torch.float64)
        zero_points = torch.zeros(n // 1024, dtype=torch.long)
        q = torch.quantize_per_tensor(x, 0.03, 0, torch.qint8)
        runs = 5 if n <= 1 << 24 else 3
        for threads in sorted({1, all_threads}):
            torch.set_num_threads(threads)
            for name, fn in (
                    ("torch/quantize_per_tensor_params", lambda: torch.quantize_per_tensor(x, 0.03, 0, torch.qint8)),
                    ("torch/quantize_per_channel_params",
                     lambda: torch.quantize_per_channel(rows, scales, zero_points, 0, torch.qint8)),
                    ("torch/dequantize_per_tensor", lambda: q.dequantize())):
                print(json.dumps({"name": name, "n": n, "threads": threads,
                                  "seconds": median_seconds(fn, runs)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
