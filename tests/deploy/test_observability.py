"""The Grafana dashboard and the alert rules read only what quantd exports.

A real quantd is started and driven through the outcomes the dashboard and
the alerts watch (quantize, dequantize and a matmul, a bad request, a
rejection by a full kernel pool), and its /metrics page is read. Every
PromQL expression of deploy/grafana and deploy/prometheus is then held against
that page (series_check.py) and parsed by promtool. The checks are shown to
catch mistakes on expressions broken on purpose."""

import json
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import grpc
import numpy as np
import yaml

from quantd.v1 import quantd_pb2 as pb
from quantd_process import QuantdProcess
from promql import Reading
from series_check import parse_page, problems

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "quantd-dashboard.json")
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "quantd-alerts.yaml")
PROMTOOL = os.environ.get("PROMTOOL", "promtool")
# Grafana's own variables, and what they stand for when promtool parses.
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}

PAGE = None


def tensor(x):
    return pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=list(x.shape), data=x.astype(np.float32).tobytes())


def page_of(server):
    url = "http://127.0.0.1:%d/metrics" % server.metrics_port
    return urllib.request.urlopen(url, timeout=10).read().decode()


def provoke_pool_rejection(server, stub, log2_size=22):
    """With one thread and room for one task, a request arriving while a
    large one runs is refused with RESOURCE_EXHAUSTED. True once that
    happened."""
    big = pb.QuantizeRequest(input=tensor(np.ones(1 << log2_size, np.float32)),
                             options=pb.QuantizeOptions(dtype=pb.DTYPE_INT8))
    small = pb.QuantizeRequest(input=tensor(np.ones(4, np.float32)),
                               options=pb.QuantizeOptions(dtype=pb.DTYPE_INT8))
    for _ in range(5):
        runner = threading.Thread(target=stub.Quantize, args=(big,))
        runner.start()
        while runner.is_alive() and "\nquantd_inflight_requests 1" not in page_of(server):
            time.sleep(0.001)
        refused = False
        if runner.is_alive():  # Else it finished before it was seen: try again.
            try:
                stub.Quantize(small)
            except grpc.RpcError as e:
                refused = e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        runner.join()
        if refused:
            return True
    return False


def expect_error(code, call, *args):
    try:
        call(*args)
    except grpc.RpcError as e:
        if e.code() != code:
            raise
        return
    raise AssertionError("%s did not fail with %s" % (call, code))


def setUpModule():
    global PAGE
    with QuantdProcess("--threads=1", "--max_pending_tasks=1", "--isa=scalar") as server:
        stub = server.stub()
        x = np.random.default_rng(7).standard_normal((4, 256)).astype(np.float32)
        x[0, 0] = 40.0  # An outlier, clipped below.
        int8 = stub.Quantize(pb.QuantizeRequest(input=tensor(x), options=pb.QuantizeOptions(
            dtype=pb.DTYPE_INT8, clip_min=-3.0, clip_max=3.0)))
        stub.Quantize(pb.QuantizeRequest(input=tensor(x), options=pb.QuantizeOptions(
            dtype=pb.DTYPE_INT8, granularity=pb.GRANULARITY_PER_CHANNEL, axis=0)))
        stub.Quantize(pb.QuantizeRequest(input=tensor(x), options=pb.QuantizeOptions(dtype=pb.DTYPE_UINT8)))
        stub.Dequantize(pb.DequantizeRequest(input=int8.output, params=int8.params))
        bad = tensor(x)
        bad.shape[0] = 3
        expect_error(grpc.StatusCode.INVALID_ARGUMENT, stub.Quantize,
                     pb.QuantizeRequest(input=bad, options=pb.QuantizeOptions(dtype=pb.DTYPE_INT8)))
        stub.QuantizedMatMul(pb.MatMulRequest(a=tensor(x), b=tensor(x), transpose_b=True,
                                              compute_reference_error=True))
        stub.Calibrate(iter([pb.CalibrateRequest(options=pb.CalibrateOptions(dtype=pb.DTYPE_INT8)),
                             pb.CalibrateRequest(batch=tensor(x))]))
        if not provoke_pool_rejection(server, stub):
            raise RuntimeError("the kernel pool never refused a request")
        PAGE = parse_page(page_of(server))


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def dashboard_panels():
    """Every panel, rows' nested panels included."""
    for panel in dashboard()["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs():
    """(where, expr) for every query of every panel."""
    for panel in dashboard_panels():
        for target in panel.get("targets", []):
            yield "panel %r %s" % (panel["title"], target["refId"]), target["expr"]


def variable_queries():
    """(name, selector, label) of each label_values(selector, label) variable."""
    for var in dashboard()["templating"]["list"]:
        if var["type"] != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query)
        if not match:
            raise ValueError("variable %s: unsupported query %r" % (var["name"], query))
        yield var["name"], match.group(1), match.group(2)


def alert_exprs():
    with open(ALERTS) as f:
        rules = yaml.safe_load(f)
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield rule.get("alert") or rule.get("record"), rule["expr"]


def variables():
    names = {v["name"] for v in dashboard()["templating"]["list"]}
    return names | set(GRAFANA_BUILTINS)


def for_promtool(expr):
    """expr with Grafana's variables replaced: builtins by durations, the
    dashboard's own (all regex matchers) by '.*'."""
    for name, value in GRAFANA_BUILTINS.items():
        expr = expr.replace("$" + name, value)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def promtool_parses(exprs):
    """(ok, output) of `promtool check rules` on exprs as recording rules."""
    rules = {"groups": [{"name": "parse", "rules": [
        {"record": "parse:expr_%d" % i, "expr": e} for i, e in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(rules, f)
        f.flush()
        result = subprocess.run([PROMTOOL, "check", "rules", f.name], capture_output=True, text=True, timeout=60)
    return result.returncode == 0, result.stdout + result.stderr


class DashboardTest(unittest.TestCase):
    def test_is_importable_with_the_datasource_as_a_variable(self):
        d = dashboard()
        self.assertGreaterEqual(d["schemaVersion"], 36)
        self.assertTrue(d["uid"] and d["title"])
        sources = [v for v in d["templating"]["list"] if v["type"] == "datasource"]
        self.assertEqual([(v["name"], v["query"]) for v in sources], [("datasource", "prometheus")])
        ids = [p["id"] for p in dashboard_panels()]
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")
        for panel in dashboard_panels():
            self.assertIn("gridPos", panel, panel["title"])
            if panel["type"] == "row":
                continue
            # No data source uid of one Grafana installation: only the variable.
            self.assertEqual(panel["datasource"], {"type": "prometheus", "uid": "${datasource}"}, panel["title"])
            refs = [t["refId"] for t in panel["targets"]]
            self.assertEqual(len(refs), len(set(refs)), panel["title"])
            for target in panel["targets"]:
                self.assertEqual(target["datasource"], panel["datasource"], panel["title"])

    def test_watches_every_family_quantd_is_judged_by(self):
        read = {s.metric for _, e in dashboard_exprs() for s in Reading(e).selectors}
        for family in ["grpc_server_handled_total", "grpc_server_handling_seconds_bucket",
                       "quantd_elements_total", "quantd_bytes_total", "quantd_quantization_sqnr_db_bucket",
                       "quantd_clipped_elements_total", "quantd_kernel_seconds_bucket",
                       "quantd_pool_queue_depth", "quantd_pool_threads", "quantd_inflight_requests",
                       "quantd_build_info", "quantd_rejected_requests_total"]:
            self.assertIn(family, read)

    def test_panels_read_only_what_quantd_exports(self):
        for where, expr in dashboard_exprs():
            with self.subTest(where):
                self.assertEqual(problems(expr, PAGE, variables()), [], expr)

    def test_variables_read_only_what_quantd_exports(self):
        for name, selector, label in variable_queries():
            with self.subTest(name):
                self.assertEqual(problems("group by (%s) (%s)" % (label, selector), PAGE, variables()), [])

    def test_promtool_parses_every_query(self):
        exprs = [for_promtool(e) for _, e in dashboard_exprs()]
        exprs += [for_promtool(s) for _, s, _ in variable_queries()]
        ok, output = promtool_parses(exprs)
        self.assertTrue(ok, output)
        self.assertIn("SUCCESS: %d rules found" % len(exprs), output)


class AlertRulesTest(unittest.TestCase):
    def test_rules_read_only_what_quantd_exports(self):
        exprs = list(alert_exprs())
        self.assertGreaterEqual(len(exprs), 6)
        for name, expr in exprs:
            with self.subTest(name):
                self.assertEqual(problems(expr, PAGE), [], expr)


class TheChecksBiteTest(unittest.TestCase):
    """Each mistake below must be reported: the checks above cannot pass
    by reading nothing."""

    def assertCaught(self, expr, fragment):
        found = problems(expr, PAGE, variables())
        self.assertTrue(any(fragment in p for p in found), "%r: %s" % (expr, found))

    def test_the_page_has_what_the_server_was_driven_through(self):
        handled = PAGE["grpc_server_handled_total"]
        self.assertLessEqual({"OK", "InvalidArgument", "ResourceExhausted"},
                             handled["grpc_code"])
        # The call gate exports its reasons from the start (at 0); the pool
        # refused some calls here.
        self.assertLessEqual({"pool_queue_full", "concurrency_limit", "memory_limit",
                              "unauthenticated", "max_rpc_duration"},
                             PAGE["quantd_rejected_requests_total"]["reason"])
        self.assertLessEqual({"PER_TENSOR", "PER_CHANNEL"},
                             PAGE["quantd_quantization_sqnr_db_bucket"]["granularity"])

    def test_a_misspelt_metric(self):
        self.assertCaught("rate(quantd_element_total[5m])", "no series quantd_element_total")

    def test_a_label_the_metric_lacks(self):
        self.assertCaught('rate(quantd_bytes_total{dtype="INT8"}[5m])', "has no label dtype")

    def test_grouping_by_a_missing_label(self):
        self.assertCaught("sum by (dtyp) (rate(quantd_elements_total[5m]))", "grouping by dtyp")

    def test_a_value_quantd_never_writes(self):
        self.assertCaught('rate(grpc_server_handled_total{grpc_code="ResourceExausted"}[5m])', "never writes")
        self.assertCaught('rate(quantd_bytes_total{direction=~"in|inn"}[5m])', "never writes")
        self.assertCaught('rate(grpc_server_handled_total{grpc_service=~"quantd[.]v2.*"}[5m])', "matches none")

    def test_an_undefined_variable(self):
        self.assertCaught('rate(quantd_elements_total{job=~"$jobs"}[5m])', "undefined variable $jobs")

    def test_an_unknown_function(self):
        self.assertCaught("histogram_quantil(0.5, quantd_kernel_seconds_bucket)", "unknown function")

    def test_promtool_rejects_a_broken_query(self):
        ok, output = promtool_parses(["sum(rate(quantd_elements_total[5m])"])
        self.assertFalse(ok, output)


if __name__ == "__main__":
    unittest.main()
