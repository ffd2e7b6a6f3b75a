"""torch.ao's HistogramObserver (2048 bins) on the data of calibrate_bench.cc:
64M normal floats in 16 batches of 4M, batch b scaled by 1 + b/4. One line
of JSON per thread count: {"name", "n", "threads", "seconds"}."""

import json
import os
import time

import torch
from torch.ao.quantization.observer import HistogramObserver

BATCH = 1 << 22
BATCHES = 16


def main():
    torch.manual_seed(1)
    batches = [torch.randn(BATCH) * (1 + b / 4) for b in range(BATCHES)]
    for threads in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        observer = HistogramObserver(bins=2048)
        start = time.perf_counter()
        for batch in batches:
            observer(batch)
        observer.calculate_qparams()
        seconds = time.perf_counter() - start
        print(json.dumps({"name": "torch/calibrate_entropy", "n": BATCH * BATCHES,
                          "threads": threads, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
