#!/usr/bin/env python3
"""quantctl's TLS and token flags end to end, against quantd with TLS,
mutual TLS and --auth_token_file. Certificates come from tests/python/pki.py
(the openssl command, at test time); ctest puts that folder on PYTHONPATH."""

import os
import shutil
import tempfile
import unittest

import numpy as np

from test_quantctl import QUANTCTL, QUANTD, Server, run_quantctl

TOKEN = "cli-token_4f2e.0123456789"


@unittest.skipUnless(shutil.which("openssl"), "the openssl command is not installed")
class QuantctlSecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from pki import Pki
        tmp = tempfile.TemporaryDirectory(prefix="quantctl_security_")
        cls.addClassCleanup(tmp.cleanup)
        cls.dir = tmp.name
        cls.pki = Pki(tmp.name)
        cls.token_file = os.path.join(tmp.name, "token")
        with open(cls.token_file, "w") as f:
            f.write(TOKEN + "\n")
        cls.wrong_token_file = os.path.join(tmp.name, "wrong_token")
        with open(cls.wrong_token_file, "w") as f:
            f.write("not-" + TOKEN)
        cls.x_path = os.path.join(tmp.name, "x.npy")
        np.save(cls.x_path, np.array([-1.0, 0.5, 1.0], np.float32))

    def server(self, *flags):
        pki = self.pki
        server = Server("--tls_cert=" + pki.path("server.pem"), "--tls_key=" + pki.path("server.key"), *flags)
        self.addCleanup(server.kill)
        return server

    def run_ok(self, server, *args):
        result = run_quantctl(server.port, *args)
        self.assertEqual(result.returncode, 0, "%s\n%s\nserver:\n%s" % (args, result.stderr, server.log()))
        return result

    def run_fails(self, server, *args, code=1, message=""):
        result = run_quantctl(server.port, *args)
        self.assertEqual(result.returncode, code, "%s\n%s" % (args, result.stdout))
        self.assertIn(message, result.stderr)
        return result

    def quantize_args(self, name):
        return ("quantize", "--in", self.x_path, "--out", os.path.join(self.dir, name + ".npy"))

    def test_tls_with_the_ca_and_the_server_name(self):
        server = self.server()
        ca = "--tls_ca=" + self.pki.path("ca.pem")
        self.run_ok(server, ca, "health")
        self.run_ok(server, ca, *self.quantize_args("tls"))
        # The certificate names localhost and 127.0.0.1; the override picks
        # which name is checked.
        self.run_ok(server, ca, "--tls_server_name=localhost", "health")
        self.run_fails(server, ca, "--tls_server_name=other.example", "health", message="UNAVAILABLE")
        self.run_fails(server, "--tls_ca=" + self.pki.path("other_ca.pem"), "health", message="UNAVAILABLE")
        self.run_fails(server, "health", message="UNAVAILABLE")  # Plaintext to a TLS port.

    def test_mutual_tls_client_certificate(self):
        server = self.server("--tls_client_ca=" + self.pki.path("ca.pem"))
        ca = "--tls_ca=" + self.pki.path("ca.pem")

        def cert(name):
            return "--tls_cert=" + self.pki.path(name + ".pem"), "--tls_key=" + self.pki.path(name + ".key")

        self.run_ok(server, ca, *cert("client"), *self.quantize_args("mtls"))
        self.run_fails(server, ca, *cert("other_client"), "health", message="UNAVAILABLE")
        self.run_fails(server, ca, "health", message="UNAVAILABLE")

    def test_token_file(self):
        server = self.server("--auth_token_file=" + self.token_file)
        ca = "--tls_ca=" + self.pki.path("ca.pem")
        self.run_ok(server, ca, "--auth_token_file=" + self.token_file, *self.quantize_args("token"))
        self.run_fails(server, ca, *self.quantize_args("no_token"), message="quantctl: UNAUTHENTICATED:")
        self.run_fails(server, ca, "--auth_token_file=" + self.wrong_token_file, *self.quantize_args("wrong"),
                       message="quantctl: UNAUTHENTICATED: the bearer token is not valid")
        self.run_ok(server, ca, "health")  # Probes need no token.

    def test_bad_flags(self):
        server = self.server()
        pki = self.pki
        self.run_fails(server, "--tls_cert=" + pki.path("client.pem"), "health", code=2,
                       message="--tls_cert is given without --tls_key")
        missing = os.path.join(self.dir, "missing.pem")
        self.run_fails(server, "--tls_ca=" + missing, "health",
                       message="TLS CA file '%s': cannot read: No such file or directory" % missing)
        empty = os.path.join(self.dir, "empty_token")
        with open(empty, "w") as f:
            f.write("\n")
        self.run_fails(server, "--auth_token_file=" + empty, "health", code=2,
                       message="auth token file '%s' is empty" % empty)


if __name__ == "__main__":
    if not (os.access(QUANTD, os.X_OK) and os.access(QUANTCTL, os.X_OK)):
        raise SystemExit("set QUANTD_BIN and QUANTCTL_BIN to the quantd and quantctl binaries")
    unittest.main()
