"""Formats bench/report's measurements: one line per quantd operation, size
and thread count with its input GB/s, its ratio to the stream loop of the
same traffic, size and threads (measured in the same run), and its speed
against oneDNN and PyTorch; the last line is the smallest stream ratio."""

import glob
import json
import os
import sys

# (direction, bits per code) -> the stream loop with that traffic: float32
# in and codes out to quantize, codes in and float32 out to dequantize.
STREAM = {
    ("quantize", 8): "stream_4r1w",
    ("dequantize", 8): "stream_1r4w",
    ("quantize", 4): "stream_4r0.5w",
    ("dequantize", 4): "stream_0.5r4w",
}


def traffic(op):
    """(stream loop, input bytes per element) of a quantd operation; its
    name says the format when that is not INT8."""
    direction = op.split("_")[0]
    bits = 4 if "int4" in op or "nf4" in op else 8
    bytes_in = 4 if direction == "quantize" else bits / 8
    return STREAM[(direction, bits)], bytes_in


def medians(path):
    """{(name, n, threads): seconds} from Google Benchmark JSON (medians)."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        run = b["run_name"].removesuffix("/real_time")  # name/n/threads
        name, n, threads = run.rsplit("/", 2)
        out[(name, int(n), int(threads))] = b["real_time"] / 1e3  # Milliseconds.
    return out


def load(directory):
    times = medians(os.path.join(directory, "quantd.json"))
    for path in glob.glob(os.path.join(directory, "onednn_*.json")):
        times.update(medians(path))
    with open(os.path.join(directory, "torch.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            times[(r["name"], r["n"], r["threads"])] = r["seconds"]
    return times


def main(directory):
    times = load(directory)
    min_ratio = None
    print("%-40s %6s %3s %9s %9s %8s %8s" % ("operation", "n", "thr", "GB/s", "stream", "/oneDNN", "/torch"))
    for (name, n, threads), seconds in sorted(times.items()):
        if not name.startswith("quantd/"):
            continue
        op = name.split("/", 1)[1]
        stream_name, bytes_per_element = traffic(op)
        bytes_in = n * bytes_per_element
        stream = times[(stream_name, n, threads)]
        ratio = stream / seconds
        min_ratio = ratio if min_ratio is None else min(min_ratio, ratio)

        def speedup(peer):
            t = times.get((peer + "/" + op, n, threads))
            return "%7.2fx" % (t / seconds) if t else "%8s" % "-"

        print("%-40s %5dM %3d %9.2f %8.0f%% %s %s" % (op, n >> 20, threads, bytes_in / seconds / 1e9,
                                                   100 * ratio, speedup("onednn"), speedup("torch")))
    print("min_ratio_to_stream %.3f" % min_ratio)


if __name__ == "__main__":
    main(sys.argv[1])
