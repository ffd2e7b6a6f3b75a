"""Shared by the Python client's tests: one quantd process per test class
with a quantd_client.Client on it, and a reader of its metrics page (how the
tests see what reached the server)."""

import re
import urllib.request

from quantd_client import Client
from test_torch_parity import ServerTestCase

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_sum(server, name, **labels):
    """The sum of `name`'s samples on the server's /metrics whose labels
    include `labels` (0 when none)."""
    url = "http://127.0.0.1:%d/metrics" % server.metrics_port
    page = urllib.request.urlopen(url, timeout=10).read().decode()
    total = 0.0
    for line in page.splitlines():
        match = _SAMPLE.match(line)
        if not match or match.group(1) != name:
            continue
        have = dict(_LABEL.findall(match.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


class ClientTestCase(ServerTestCase):
    """ServerTestCase with `cls.client`, a Client of the server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = Client(cls.server.target, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        super().tearDownClass()
