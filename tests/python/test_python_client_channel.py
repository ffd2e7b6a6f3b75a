"""quantd_client's connection options against real quantd processes: TLS,
mutual TLS, the server-name override and the bearer token; round-robin
balancing over two replicas; the message limit; an unreachable server."""

import os
import shutil
import socket
import tempfile
import unittest

import grpc
import numpy as np

from client_test_case import metric_sum
from quantd_client import Client, QuantdError
from quantd_process import QuantdProcess

TOKEN = "qd-python-client_Token.0123456789"


def handled(server, method="Quantize"):
    return metric_sum(server, "grpc_server_handled_total", grpc_method=method)


def x(n=64):
    return np.linspace(-1, 1, n, dtype=np.float32)


@unittest.skipUnless(shutil.which("openssl"), "the openssl command is not installed")
class TlsAndTokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from pki import Pki
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = Pki(cls.tmp.name)
        cls.token_file = os.path.join(cls.tmp.name, "token")
        with open(cls.token_file, "w") as f:
            f.write("\n  %s \n" % TOKEN)
        cls.server = QuantdProcess(
            "--tls_cert=" + cls.pki.path("server.pem"), "--tls_key=" + cls.pki.path("server.key"),
            "--tls_client_ca=" + cls.pki.path("ca.pem"), "--auth_token_file=" + cls.token_file).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        cls.tmp.cleanup()

    def client(self, **options):
        """Mutual TLS with the test CA's client certificate unless overridden;
        files as paths, the key as PEM bytes (both forms are accepted)."""
        tls = dict(tls_ca=self.pki.path("ca.pem"), tls_cert=self.pki.path("client.pem"),
                   tls_key=self.pki.read("client.key"))
        tls.update(options)
        return Client(self.server.target, timeout=20, **tls)

    def code(self, client, call):
        with client:
            try:
                call(client)
            except QuantdError as e:
                return e.code
        return grpc.StatusCode.OK

    def test_mutual_tls_and_the_token_from_a_file_or_a_string(self):
        for token in (dict(token_file=self.token_file), dict(token=TOKEN)):
            with self.subTest(**token), self.client(**token) as client:
                q = client.quantize(x(), "int8")
                np.testing.assert_array_equal(q.codes[[0, -1]], [-127, 127])

    def test_without_the_token_calls_are_refused_but_health_answers(self):
        for token in ({}, dict(token="wrong")):
            with self.subTest(**token):
                self.assertEqual(self.code(self.client(**token), lambda c: c.quantize(x())),
                                 grpc.StatusCode.UNAUTHENTICATED)
                with self.client(**token) as client:
                    self.assertTrue(client.health())

    def test_server_name_override_and_certificates_are_checked(self):
        health = lambda c: c.health()  # noqa: E731
        # The certificate names localhost and 127.0.0.1; the target is the IP.
        self.assertEqual(self.code(self.client(token=TOKEN, tls_server_name="localhost"),
                                   lambda c: c.quantize(x())), grpc.StatusCode.OK)
        self.assertEqual(self.code(self.client(tls_server_name="other.example"), health),
                         grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(self.code(self.client(tls_cert=None, tls_key=None), health),
                         grpc.StatusCode.UNAVAILABLE)  # Mutual TLS: no client certificate.
        self.assertEqual(self.code(Client(self.server.target, timeout=20), health),
                         grpc.StatusCode.UNAVAILABLE)  # Plaintext to a TLS port.

    def test_options_checked_before_connecting(self):
        empty = os.path.join(self.tmp.name, "empty")
        open(empty, "w").close()
        with self.assertRaisesRegex(ValueError, "empty"):
            Client(self.server.target, token_file=empty)
        with self.assertRaisesRegex(ValueError, "not both"):
            Client(self.server.target, token="a", token_file=self.token_file)
        with self.assertRaisesRegex(ValueError, "client certificate is given without its key"):
            Client(self.server.target, tls_cert=self.pki.path("client.pem"))
        with self.assertRaisesRegex(ValueError, "cannot read the TLS CA file"):
            Client(self.server.target, tls_ca=os.path.join(self.tmp.name, "missing.pem"))


class ChannelTest(unittest.TestCase):
    def test_round_robin_spreads_calls_over_every_address(self):
        with QuantdProcess() as a, QuantdProcess() as b:
            target = "ipv4:%s,%s" % (a.target, b.target)
            for round_robin in (False, True):
                before = handled(a), handled(b)
                with Client(target, timeout=20, round_robin=round_robin) as client:
                    for _ in range(20):
                        client.quantize(x())
                calls = handled(a) - before[0], handled(b) - before[1]
                self.assertEqual(sum(calls), 20)
                if round_robin:  # Until both connections are up, the first takes every call.
                    self.assertGreaterEqual(min(calls), 5, calls)
                else:
                    self.assertIn(0, calls)  # pick_first: one replica takes every call.

    def test_messages_above_the_limit_are_refused_before_sending(self):
        with QuantdProcess() as server, Client(server.target, timeout=20, max_message_bytes=64 << 10) as client:
            big = x(32 << 10)  # 128 KiB of float32.
            calls = [lambda: client.analyze(big), lambda: client.calibrate([x(), big])]
            for call in calls:
                with self.assertRaises(QuantdError) as raised:
                    call()
                self.assertEqual(raised.exception.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
                self.assertIn("above max_message_bytes (65536)", raised.exception.details)
                self.assertIn("only quantize and dequantize stream", raised.exception.details)
            self.assertEqual(metric_sum(server, "grpc_server_started_total", grpc_method="Analyze"), 0)
            self.assertEqual(metric_sum(server, "quantd_calibrations_total"), 0)
            self.assertEqual(client.quantize(x(8 << 10)).codes.size, 8 << 10)  # 32 KiB fits.

    def test_tensors_above_the_limit_stream_with_the_same_results(self):
        with QuantdProcess() as server, Client(server.target, timeout=60) as roomy, \
                Client(server.target, timeout=60, max_message_bytes=8 << 20) as tight:
            big = x(6 << 20)  # 24 MiB of float32: six 4 MiB chunks.
            for keywords in (dict(dtype="int8", granularity="per_channel", axis=0),
                             dict(dtype="int4", granularity="per_group", axis=1, group_size=64)):
                streamed, whole = tight.quantize(big.reshape(1536, -1), **keywords), \
                    roomy.quantize(big.reshape(1536, -1), **keywords)
                self.assertEqual(streamed.packed, whole.packed)
                self.assertEqual(streamed.shape, whole.shape)
                np.testing.assert_array_equal(streamed.params.scales, whole.params.scales)
                self.assertEqual(streamed.error.sqnr_db, whole.error.sqnr_db)
                # The float32 answer (4 bytes per code) is far above the limit too.
                np.testing.assert_array_equal(tight.dequantize(streamed), roomy.dequantize(whole))
            self.assertEqual(metric_sum(server, "grpc_server_handled_total", grpc_method="QuantizeStream",
                                        grpc_code="OK"), 2)
            self.assertEqual(metric_sum(server, "grpc_server_handled_total", grpc_method="DequantizeStream",
                                        grpc_code="OK"), 2)
            with self.assertRaises(QuantdError) as raised:
                tight.quantize(big, return_dequantized=True)
            self.assertIn("return_dequantized needs the tensor in one message", raised.exception.details)

    def test_an_unreachable_server_is_unavailable(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # Bound, never listening: connections are refused.
            with Client("127.0.0.1:%d" % port, timeout=10) as client, self.assertRaises(QuantdError) as raised:
                client.health()
        self.assertEqual(raised.exception.code, grpc.StatusCode.UNAVAILABLE)


if __name__ == "__main__":
    unittest.main()
