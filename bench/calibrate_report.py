"""Formats the calibration benchmarks: quantd's histogram calibration over
64M values against a read-only stream over the same bytes and against
torch.ao's HistogramObserver, measured in the same run."""

import json
import sys


def main(quantd_json, torch_jsonl):
    with open(quantd_json) as f:
        runs = {}
        for b in json.load(f)["benchmarks"]:
            if b.get("aggregate_name") != "median":
                continue
            name, n, threads = b["run_name"].removesuffix("/real_time").rsplit("/", 2)
            runs[(name.split("/")[-1], int(threads))] = b["real_time"] / 1e3  # Seconds.
    torch = {}
    with open(torch_jsonl) as f:
        for line in f:
            r = json.loads(line)
            torch[r["threads"]] = r["seconds"]
    n_bytes = (1 << 26) * 4
    print("%-40s %6s %3s %9s %9s %8s" % ("calibration (64M values)", "", "thr", "GB/s", "stream", "/torch"))
    for (name, threads), seconds in sorted(runs.items()):
        if not name.startswith("calibrate_"):
            continue
        stream = runs[("stream_read", threads)]
        vs_torch = "%7.1fx" % (torch[threads] / seconds) if name == "calibrate_entropy" else "%8s" % "-"
        print("%-40s %6s %3d %9.2f %8.0f%% %s" % (name, "64M", threads, n_bytes / seconds / 1e9,
                                                 100 * stream / seconds, vs_torch))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
