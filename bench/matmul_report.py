"""Formats the matmul benchmarks of bench/report: per shape (M, K, N) and
thread count, quantd's int8 and int4 weight-only MatMul in GOPS (2 M N K
operations per product), oneDNN's u8s8->s32 matmul and OpenBLAS's sgemm on
the same shapes with quantd's ratios to them, quantd's and oneDNN's fraction
of the vpdpbusd peak that their own binary measured in the same run, and, for one row (M = 1), the weights' bytes
read per second against a read stream over the same bytes, same threads,
same run. All figures are medians of interleaved repetitions.

Usage: matmul_report.py DIR, DIR holding matmul*.json (quantd_matmul_bench:
quantd, stream_read, vnni_peak), onednn_matmul_<threads>.json and
openblas.json (any may be missing). Ends with summary lines, one per
target, `name value`."""

import glob
import json
import os
import re
import sys


def load(path, peak_prefix=""):
    """({(name, args...): median items or bytes per second}, {key: error});
    the peak's names prefixed with peak_prefix."""
    rates, errors = {}, {}
    with open(path) as f:
        data = json.load(f)
    for b in data["benchmarks"]:
        run = b["run_name"]
        threads = re.search(r"/threads:(\d+)$", run)
        run = re.sub(r"/threads:\d+$", "", run).removesuffix("/real_time")
        parts = run.split("/")
        # name[/case]/arg/.../arg; the peak's thread count is Google Benchmark's.
        first_arg = next(i for i, p in enumerate(parts) if p.isdigit())
        name = "/".join(parts[:first_arg])
        if name.startswith("vnni_peak/"):
            name = peak_prefix + name
        key = (name,) + tuple(int(p) for p in parts[first_arg:])
        if threads:
            key += (int(threads.group(1)),)
        if b.get("error_occurred"):
            errors[key] = b.get("error_message", "error")
        elif b.get("aggregate_name") == "median":
            rates[key] = b.get("items_per_second") or b.get("bytes_per_second")
    return rates, errors


def fmt(value, spec, width):
    return (spec % value).rjust(width) if value is not None else "-".rjust(width)


def ratio(a, b):
    return a / b if a is not None and b else None


def main(directory):
    rates, errors = {}, {}
    for pattern in ("matmul*.json", "onednn_matmul_*.json", "openblas.json"):
        for path in sorted(glob.glob(os.path.join(directory, pattern))):
            # oneDNN's runs measure the peak as well, for oneDNN's fraction.
            r, e = load(path, "onednn_run/" if pattern.startswith("onednn") else "")
            rates.update(r)
            errors.update(e)

    def rate(name, *args):
        return rates.get((name,) + args)

    shapes = sorted({k[1:4] for k in list(rates) + list(errors)
                     if k[0].startswith(("quantd/matmul", "onednn/matmul", "openblas/"))},
                    key=lambda s: (s[0], s))
    thread_counts = sorted({k[4] for k in list(rates) + list(errors) if k[0] == "onednn/matmul_u8s8s32"}
                           | {k[4] for k in list(rates) + list(errors) if k[0] == "quantd/matmul_int8"})

    peaks = {t: rate("vnni_peak/avx512_vnni_zmm", 65536, t) for t in thread_counts}
    onednn_peaks = {t: rate("onednn_run/vnni_peak/avx512_vnni_zmm", 65536, t) or peaks[t] for t in thread_counts}
    print("vpdpbusd peak (int8 GOPS, registers only): " + ", ".join(
        "%d thr zmm %s ymm %s" % (t, fmt(peaks[t] and peaks[t] / 1e9, "%.0f", 1),
                                  fmt((rate("vnni_peak/avx_vnni_ymm", 65536, t) or 0) / 1e9 or None, "%.0f", 1))
        for t in thread_counts) + "; in oneDNN's runs: " + ", ".join(
        "%d thr zmm %s" % (t, fmt(onednn_peaks[t] and onednn_peaks[t] / 1e9, "%.0f", 1)) for t in thread_counts))
    for key, message in sorted(errors.items()):
        if key[0].startswith("vnni_peak"):
            print("  %s skipped: %s" % (key[0], message))

    header = ("%-16s %3s %8s %8s %8s %7s %8s %8s %7s %7s %7s %8s %7s"
              % ("matmul (M,K,N)", "thr", "q_int8", "q_int4", "oneDNN", "q/oDNN", "oDNNf32", "OpenBLAS",
                 "q/OBLAS", "q%peak", "o%peak", "wread%", "i4/i8"))
    print(header)
    print("%-16s %3s %8s %8s %8s %7s %8s %8s %7s %7s %7s %8s %7s"
          % ("", "", "GOPS", "GOPS", "u8s8s32", "", "GFLOPS", "GFLOPS", "", "", "", "(M=1)", ""))
    summary = {"min_ratio_quantd_int8_to_onednn": None, "min_ratio_quantd_int8_to_openblas_m128": None,
               "min_int8_m1_weight_read_fraction": None, "min_int4_over_int8_m1_m16": None}

    def keep_min(name, value):
        if value is not None:
            summary[name] = value if summary[name] is None else min(summary[name], value)

    skipped = {}
    for m, k, n in shapes:
        for t in thread_counts:
            q8 = rate("quantd/matmul_int8", m, k, n, t)
            q4 = rate("quantd/matmul_int4_g128", m, k, n, t)
            dnnl = rate("onednn/matmul_u8s8s32", m, k, n, t)
            dnnl_f32 = rate("onednn/matmul_f32", m, k, n, t)
            blas = rate("openblas/sgemm", m, k, n, t)
            peak = peaks.get(t)
            read = None
            if m == 1 and q8 is not None:
                stream = rate("stream_read", n * k, t)  # INT8 weights: N K bytes.
                read = ratio(q8 / (2 * m * n * k) * n * k, stream)
                keep_min("min_int8_m1_weight_read_fraction", read)
            speedup = ratio(q4, q8) if m <= 16 else None
            keep_min("min_int4_over_int8_m1_m16", speedup)
            keep_min("min_ratio_quantd_int8_to_onednn", ratio(q8, dnnl))
            if m >= 128:
                keep_min("min_ratio_quantd_int8_to_openblas_m128", ratio(q8, blas))
            g = lambda x: x and x / 1e9  # noqa: E731
            print("%-16s %3d %8s %8s %8s %7s %8s %8s %7s %7s %7s %8s %7s" % (
                "%d,%d,%d" % (m, k, n), t, fmt(g(q8), "%.1f", 8), fmt(g(q4), "%.1f", 8),
                fmt(g(dnnl), "%.1f", 8), fmt(ratio(q8, dnnl), "%.2fx", 7), fmt(g(dnnl_f32), "%.1f", 8),
                fmt(g(blas), "%.1f", 8), fmt(ratio(q8, blas), "%.2fx", 7),
                fmt(ratio(q8, peak) and 100 * ratio(q8, peak), "%.0f%%", 7),
                fmt(ratio(dnnl, onednn_peaks.get(t)) and 100 * ratio(dnnl, onednn_peaks.get(t)), "%.0f%%", 7),
                fmt(read and 100 * read, "%.0f%%", 8), fmt(speedup, "%.2fx", 7)))
            for name in ("quantd/matmul_int8", "quantd/matmul_int4_g128", "onednn/matmul_u8s8s32",
                         "onednn/matmul_f32", "openblas/sgemm"):
                if (name, m, k, n, t) in errors:
                    skipped.setdefault((name, errors[(name, m, k, n, t)]), []).append("%d,%d,%d/%d" % (m, k, n, t))
    for (name, message), runs in sorted(skipped.items()):
        print("  %s skipped (%d runs): %s" % (name, len(runs), message))
    # One row: the weights' bytes per second against the stream over as many
    # bytes (INT8: N K, INT4: N K / 2), quantd's and oneDNN's.
    for m, k, n in shapes:
        if m != 1:
            continue
        for t in thread_counts:
            line = []
            for label, name, nbytes in (("quantd int8", "quantd/matmul_int8", n * k),
                                        ("quantd int4", "quantd/matmul_int4_g128", n * k // 2),
                                        ("oneDNN u8s8s32", "onednn/matmul_u8s8s32", n * k)):
                r, stream = rate(name, m, k, n, t), rate("stream_read", nbytes, t)
                if r and stream:
                    read = r / (2 * m * n * k) * nbytes
                    line.append("%s %.1f GB/s (%.0f%% of %.1f)" % (label, read / 1e9, 100 * read / stream,
                                                                   stream / 1e9))
            stream = rate("stream_read", n * k, t)
            if not line and stream:
                line.append("stream %.1f GB/s" % (stream / 1e9))
            print("  weights read at M=1, %d thr: %s" % (t, "; ".join(line)))
    for name, value in summary.items():
        print("%s %s" % (name, "%.3f" % value if value is not None else "-"))


if __name__ == "__main__":
    main(sys.argv[1])
