"""A real Prometheus scrapes a running quantd, and its HTTP API holds the values
the RPCs produced.

quantd is started on loopback and driven through a known set of calls (three
INT8 Quantize calls of 1000 float32 elements, one Dequantize, one Quantize
refused with INVALID_ARGUMENT). Prometheus (Debian's package) is then started
on a free loopback port with a config scraping quantd's /metrics every second
as job "quantd", into a temporary TSDB. Once the series have been scraped,
instant queries must give exactly the counts of those calls; after one more
Dequantize, the stored samples and a range query must show the step.

Skipped when there is no prometheus binary ($PROMETHEUS, else prometheus on
PATH)."""

import contextlib
import json
import math
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import grpc
import numpy as np

from quantd.v1 import quantd_pb2 as pb
from quantd_process import QuantdProcess

PROMETHEUS = os.environ.get("PROMETHEUS") or shutil.which("prometheus") or "/usr/bin/prometheus"
JOB = "quantd"
ELEMENTS = 1000
QUANTIZE_CALLS = 3
WAIT_SECONDS = 30

QUANTD = None  # The QuantdProcess.
PROM = None  # The Prometheus.


def tensor(x):
    return pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=list(x.shape), data=x.astype(np.float32).tobytes())


def free_port():
    """A loopback port free now (another process may take it before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(what, check, timeout=WAIT_SECONDS):
    """check()'s first truthy result, polled until timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(0.2)


class Prometheus:
    """A Prometheus child process on a free loopback port, scraping one
    target as job JOB every second; use as a context manager."""

    def __init__(self, directory, target):
        self.directory = directory
        self.config = os.path.join(directory, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write("global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: %s\n"
                    "    static_configs:\n"
                    "      - targets: ['%s']\n" % (JOB, target))
        self.log_path = os.path.join(directory, "prometheus.log")
        self.proc = None
        self.port = None

    def __enter__(self):
        for _ in range(5):
            self.port = free_port()
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [PROMETHEUS, "--config.file=" + self.config,
                     "--storage.tsdb.path=" + os.path.join(self.directory, "tsdb"),
                     "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            try:
                if eventually("Prometheus to be ready", self._ready_or_exited) == "ready":
                    return self
            except BaseException:
                self.stop()
                raise
            if "address already in use" not in self.log():
                raise RuntimeError("prometheus exited with %s:\n%s" % (self.proc.returncode, self.log()))
        raise RuntimeError("prometheus found no free port:\n%s" % self.log())

    def _ready_or_exited(self):
        if self.proc.poll() is not None:
            return "exited"
        try:
            with urllib.request.urlopen(self.url("/-/ready"), timeout=2) as r:
                return "ready" if r.status == 200 else None
        except (urllib.error.URLError, OSError):
            return None

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-4000:]

    def url(self, path, **params):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        return url + ("?" + urllib.parse.urlencode(params) if params else "")

    def api(self, path, **params):
        """The data of a successful /api/v1 answer."""
        with urllib.request.urlopen(self.url("/api/v1/" + path, **params), timeout=10) as r:
            answer = json.load(r)
        if answer.get("status") != "success":
            raise AssertionError("%s %s: %s" % (path, params, answer))
        return answer["data"]

    def query(self, expr):
        """An instant query's vector, as {frozenset(labels): value}."""
        data = self.api("query", query=expr)
        if data["resultType"] != "vector":
            raise AssertionError("%s gave a %s" % (expr, data["resultType"]))
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in data["result"]}

    def value(self, expr):
        """The single value of an instant query, None when it has no series."""
        result = self.query(expr)
        if len(result) > 1:
            raise AssertionError("%s has %d series: %s" % (expr, len(result), result))
        return next(iter(result.values()), None)


def series(name, **labels):
    """A selector of name in job JOB with labels."""
    matchers = ['job="%s"' % JOB] + ['%s="%s"' % kv for kv in sorted(labels.items())]
    return "%s{%s}" % (name, ",".join(matchers))


def expect_invalid_argument(call, request):
    try:
        call(request)
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        return
    raise AssertionError("the call did not fail with INVALID_ARGUMENT")


DEQUANTIZED = None  # The INT8 tensor and parameters a Dequantize call takes.


def setUpModule():
    global QUANTD, PROM, DEQUANTIZED
    if not (os.path.isfile(PROMETHEUS) and os.access(PROMETHEUS, os.X_OK)):
        raise unittest.SkipTest("no prometheus binary at %r (Debian's prometheus package; "
                                "set PROMETHEUS to another one)" % PROMETHEUS)
    stack = contextlib.ExitStack()
    unittest.addModuleCleanup(stack.close)
    directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="quantd-prometheus-"))
    QUANTD = stack.enter_context(QuantdProcess("--isa=scalar"))
    stub = QUANTD.stub()
    x = np.random.default_rng(3).standard_normal(ELEMENTS).astype(np.float32)
    for _ in range(QUANTIZE_CALLS):
        result = stub.Quantize(pb.QuantizeRequest(input=tensor(x), options=pb.QuantizeOptions(dtype=pb.DTYPE_INT8)))
    DEQUANTIZED = pb.DequantizeRequest(input=result.output, params=result.params)
    stub.Dequantize(DEQUANTIZED)
    bad = tensor(x)
    bad.shape[0] = ELEMENTS - 1  # Shape and data disagree.
    expect_invalid_argument(stub.Quantize, pb.QuantizeRequest(input=bad, options=pb.QuantizeOptions(dtype=pb.DTYPE_INT8)))

    PROM = stack.enter_context(Prometheus(directory, "127.0.0.1:%d" % QUANTD.metrics_port))
    # Counters only grow and the calls are done: once the last family of the
    # page is scraped with these values, every family is.
    eventually("quantd to be scraped", lambda: PROM.value('up{job="%s"} == 1' % JOB)
               and PROM.value(series("quantd_elements_total", op="dequantize", dtype="INT8")) == ELEMENTS)


class ScrapedValuesTest(unittest.TestCase):
    """Instant queries give exactly what the calls produced."""

    def test_the_target_is_up(self):
        self.assertEqual(PROM.query('up{job="%s"}' % JOB), {frozenset({
            "__name__": "up", "job": JOB, "instance": "127.0.0.1:%d" % QUANTD.metrics_port}.items()): 1.0})
        active = PROM.api("targets")["activeTargets"]
        self.assertEqual([(t["labels"]["job"], t["health"]) for t in active], [(JOB, "up")])

    def test_elements(self):
        self.assertEqual(PROM.value(series("quantd_elements_total", op="quantize", dtype="INT8")),
                         QUANTIZE_CALLS * ELEMENTS)
        self.assertEqual(PROM.value(series("quantd_elements_total", op="dequantize", dtype="INT8")), ELEMENTS)
        self.assertEqual(PROM.value(series("quantd_bytes_total", op="quantize", direction="in")),
                         QUANTIZE_CALLS * ELEMENTS * 4)
        self.assertEqual(PROM.value(series("quantd_bytes_total", op="quantize", direction="out")),
                         QUANTIZE_CALLS * ELEMENTS)

    def test_handled_by_code(self):
        by_code = PROM.query('sum by (grpc_code) (%s)' % series(
            "grpc_server_handled_total", grpc_service="quantd.v1.Quantizer", grpc_method="Quantize"))
        self.assertEqual(by_code, {frozenset({("grpc_code", "OK")}): QUANTIZE_CALLS,
                                   frozenset({("grpc_code", "InvalidArgument")}): 1.0})
        self.assertEqual(PROM.value(series("grpc_server_handled_total", grpc_method="Dequantize", grpc_code="OK")), 1)
        self.assertEqual(PROM.value(series("grpc_server_started_total", grpc_method="Quantize")), QUANTIZE_CALLS + 1)

    def test_histograms(self):
        sqnr = dict(dtype="INT8", granularity="PER_TENSOR")
        self.assertEqual(PROM.value(series("quantd_quantization_sqnr_db_count", **sqnr)), QUANTIZE_CALLS)
        self.assertEqual(PROM.value(series("quantd_quantization_sqnr_db_bucket", le="+Inf", **sqnr)), QUANTIZE_CALLS)
        # The same tensor three times: three equal SQNRs, well above 30 dB for
        # 8 bits on a normal sample.
        mean = PROM.value("%s / %s" % (series("quantd_quantization_sqnr_db_sum", **sqnr),
                                       series("quantd_quantization_sqnr_db_count", **sqnr)))
        self.assertTrue(30 < mean < 60, mean)
        self.assertEqual(PROM.value(series("grpc_server_handling_seconds_count", grpc_method="Quantize")),
                         QUANTIZE_CALLS + 1)
        self.assertEqual(PROM.value(series("quantd_kernel_seconds_count", op="quantize", isa="scalar")),
                         QUANTIZE_CALLS)
        # Cumulative buckets: the count of le="+Inf" is the largest.
        buckets = PROM.query(series("quantd_quantization_sqnr_db_bucket", **sqnr))
        self.assertGreater(len(buckets), 2)
        self.assertEqual(max(buckets.values()), QUANTIZE_CALLS)
        median = PROM.value("histogram_quantile(0.5, %s)" % series("quantd_quantization_sqnr_db_bucket", **sqnr))
        self.assertFalse(math.isnan(median))

    def test_build_info(self):
        info = PROM.query(series("quantd_build_info"))
        self.assertEqual(len(info), 1, info)
        labels, value = next(iter(info.items()))
        labels = dict(labels)
        self.assertEqual(value, 1)
        self.assertEqual(labels["isa"], "scalar")  # quantd runs with --isa=scalar.
        self.assertRegex(labels["version"], r"^\d+\.\d+\.\d+")


class AnotherCallTest(unittest.TestCase):
    """One more Dequantize after the first scrapes: the stored samples step
    from 1000 to 2000 elements, once. Runs after ScrapedValuesTest (see
    load_tests)."""

    def test_the_step_is_stored(self):
        name = series("quantd_elements_total", op="dequantize", dtype="INT8")
        start = time.time()
        QUANTD.stub().Dequantize(DEQUANTIZED)
        eventually("the second Dequantize to be scraped", lambda: PROM.value(name) == 2 * ELEMENTS)
        # Every sample since Prometheus started lies in the last minute.
        samples = PROM.api("query", query=name + "[1m]")["result"]
        self.assertEqual(len(samples), 1)
        values = [float(v) for _, v in samples[0]["values"]]
        self.assertEqual(values, sorted(values))
        self.assertEqual((values[0], values[-1]), (ELEMENTS, 2 * ELEMENTS))
        self.assertEqual(set(values), {ELEMENTS, 2 * ELEMENTS})
        self.assertEqual(PROM.value("changes(%s[1m])" % name), 1)
        self.assertEqual(PROM.value("resets(%s[1m])" % name), 0)
        self.assertEqual(PROM.value("max_over_time(%s[1m]) - min_over_time(%s[1m])" % (name, name)), ELEMENTS)
        # A range query across the call, a point a second back from now (the
        # last point is evaluated at `end`, after 2000 was seen): 1000 before
        # the call, 2000 at the end.
        end = time.time()
        ranged = PROM.api("query_range", query=name, start="%.3f" % (end - math.ceil(end - start) - 3),
                          end="%.3f" % end, step="1")
        self.assertEqual(ranged["resultType"], "matrix")
        points = [float(v) for _, v in ranged["result"][0]["values"]]
        self.assertEqual(points, sorted(points))
        self.assertEqual((points[0], points[-1]), (ELEMENTS, 2 * ELEMENTS))
        # And the Dequantize calls: two, both OK.
        self.assertEqual(PROM.value(series("grpc_server_handled_total", grpc_method="Dequantize", grpc_code="OK")), 2)


def load_tests(loader, tests, pattern):
    """The exact values first, then the extra call that changes them."""
    suite = unittest.TestSuite()
    for case in (ScrapedValuesTest, AnotherCallTest):
        suite.addTests(loader.loadTestsFromTestCase(case))
    return suite


if __name__ == "__main__":
    unittest.main()
