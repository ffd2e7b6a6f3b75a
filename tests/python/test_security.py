"""quantd's gRPC port over TLS and mutual TLS, and the bearer token of
--auth_token_file, against the real binary. Certificates are made with the
openssl command at test time (pki.py); the client is Debian's grpcio."""

import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

import grpc
import numpy as np

from health.v1 import health_pb2, health_pb2_grpc
from quantd.v1 import quantd_pb2 as pb
from quantd.v1 import quantd_pb2_grpc
from quantd_process import QuantdProcess
from reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

TOKEN = "qd-7Hc2_example.Token-0123456789"
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


def quantize_request():
    x = np.array([-1.0, 0.25, 0.5, 1.0], np.float32)
    return pb.QuantizeRequest(input=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[4], data=x.tobytes()),
                              options=pb.QuantizeOptions(dtype=pb.DTYPE_INT8))


def quantize(channel, metadata=None):
    """The status code of a small Quantize (and checks the answer when OK)."""
    try:
        response = quantd_pb2_grpc.QuantizerStub(channel).Quantize(
            quantize_request(), metadata=metadata, timeout=20)
    except grpc.RpcError as e:
        return e.code(), e.details()
    np.testing.assert_array_equal(np.frombuffer(response.output.data, np.int8), [-127, 32, 64, 127])
    return grpc.StatusCode.OK, ""


def health(channel, service):
    return health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=20).status


def bearer(token):
    return [("authorization", "Bearer " + token)]


def metrics_page(server):
    return urllib.request.urlopen("http://127.0.0.1:%d/metrics" % server.metrics_port, timeout=10).read().decode()


class Certificates:
    """The PEM files of pki.Pki, made once for the module."""
    tmp = None
    pki = None

    @classmethod
    def get(cls):
        if cls.pki is None:
            from pki import Pki
            cls.tmp = tempfile.TemporaryDirectory()
            cls.pki = Pki(cls.tmp.name)
        return cls.pki


def tearDownModule():
    if Certificates.tmp is not None:
        Certificates.tmp.cleanup()


@unittest.skipUnless(shutil.which("openssl"), "the openssl command is not installed")
class TlsTest(unittest.TestCase):
    def setUp(self):
        self.pki = Certificates.get()

    def tls_flags(self, client_ca=None):
        flags = ["--tls_cert=" + self.pki.path("server.pem"), "--tls_key=" + self.pki.path("server.key")]
        if client_ca:
            flags.append("--tls_client_ca=" + self.pki.path(client_ca))
        return flags

    def channel(self, server, ca="ca.pem", client=None):
        """A TLS channel trusting `ca` (None: gRPC's default roots), with the
        client certificate `client` ("client" -> client.pem and client.key)."""
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.pki.read(ca) if ca else None,
            private_key=self.pki.read(client + ".key") if client else None,
            certificate_chain=self.pki.read(client + ".pem") if client else None)
        return grpc.secure_channel(server.target, credentials)

    def test_client_trusting_the_ca_is_served_and_metrics_stay_plain_http(self):
        with QuantdProcess(*self.tls_flags()) as server:
            with self.channel(server) as channel:
                self.assertEqual(quantize(channel), (grpc.StatusCode.OK, ""))
                self.assertEqual(health(channel, "quantd.v1.Quantizer"), health_pb2.HealthCheckResponse.SERVING)
            self.assertIn("grpc_server_handled_total", metrics_page(server))
            self.assertIn(b"gRPC over TLS;", b"".join(server.log))
            self.assertEqual(server.terminate(), 0)

    def test_client_without_the_ca_or_without_tls_is_refused(self):
        with QuantdProcess(*self.tls_flags()) as server:
            for ca in ("other_ca.pem", None):
                with self.subTest(trusting=ca), self.channel(server, ca=ca) as channel:
                    self.assertEqual(quantize(channel)[0], UNAVAILABLE)
            with server.channel() as plaintext:
                self.assertEqual(quantize(plaintext)[0], UNAVAILABLE)
            self.assertEqual(server.terminate(), 0)

    def test_mutual_tls_requires_a_client_certificate_from_the_client_ca(self):
        with QuantdProcess(*self.tls_flags(client_ca="ca.pem")) as server:
            for client in (None, "other_client"):
                with self.subTest(client=client), self.channel(server, client=client) as channel:
                    self.assertEqual(quantize(channel)[0], UNAVAILABLE)
                    # Probes need a certificate too: the handshake comes first.
                    with self.assertRaises(grpc.RpcError) as raised:
                        health(channel, "")
                    self.assertEqual(raised.exception.code(), UNAVAILABLE)
            with self.channel(server, client="client") as channel:
                self.assertEqual(quantize(channel), (grpc.StatusCode.OK, ""))
            self.assertIn(b"gRPC over mutual TLS", b"".join(server.log))
            self.assertEqual(server.terminate(), 0)

    def test_token_over_mutual_tls(self):
        with tempfile.NamedTemporaryFile("w", suffix=".token") as token_file:
            token_file.write(TOKEN)
            token_file.flush()
            flags = self.tls_flags(client_ca="ca.pem") + ["--auth_token_file=" + token_file.name]
            with QuantdProcess(*flags) as server, self.channel(server, client="client") as channel:
                self.assertEqual(quantize(channel, bearer(TOKEN)), (grpc.StatusCode.OK, ""))
                self.assertEqual(quantize(channel)[0], grpc.StatusCode.UNAUTHENTICATED)
                self.assertEqual(server.terminate(), 0)

    def test_bad_tls_flags_stop_the_start_naming_the_flag_and_path(self):
        pki = self.pki
        missing = os.path.join(pki.dir, "missing.pem")
        cases = [
            (["--tls_key=" + pki.path("server.key")],
             "--tls_key=%s is given without --tls_cert" % pki.path("server.key")),
            (["--tls_cert=" + pki.path("server.pem")],
             "--tls_cert=%s is given without --tls_key" % pki.path("server.pem")),
            (["--tls_cert=" + missing, "--tls_key=" + pki.path("server.key")],
             "--tls_cert=%s: cannot read: No such file or directory" % missing),
            (["--tls_cert=" + pki.path("server.pem"), "--tls_key=" + missing],
             "--tls_key=%s: cannot read: No such file or directory" % missing),
            (["--tls_cert=" + pki.path("server.key"), "--tls_key=" + pki.path("server.key")],
             "--tls_cert=%s: no PEM certificate in it" % pki.path("server.key")),
            (["--tls_cert=" + pki.path("server.pem"), "--tls_key=" + pki.path("server.pem")],
             "--tls_key=%s: no unencrypted PEM private key in it" % pki.path("server.pem")),
            (["--tls_cert=" + pki.path("server.pem"), "--tls_key=" + pki.path("client.key")],
             "--tls_key=%s is not the key of the certificate in --tls_cert=%s"
             % (pki.path("client.key"), pki.path("server.pem"))),
            (self.tls_flags() + ["--tls_client_ca=" + pki.path("client.key")],
             "--tls_client_ca=%s: no PEM certificate in it" % pki.path("client.key")),
            (["--tls_client_ca=" + pki.path("ca.pem")],
             "--tls_client_ca=%s is given without --tls_cert and --tls_key" % pki.path("ca.pem")),
        ]
        for flags, message in cases:
            with self.subTest(flags=flags):
                result = subprocess.run(
                    [os.environ["QUANTD_BIN"], "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0", *flags],
                    capture_output=True, timeout=30)
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn(message.encode(), result.stderr)


class TokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.token_file = os.path.join(cls.tmp.name, "token")
        with open(cls.token_file, "w") as f:
            f.write("\n  %s \n" % TOKEN)  # Surrounding whitespace is not part of it.

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_quantizer_calls_need_the_right_token(self):
        with QuantdProcess("--auth_token_file=" + self.token_file) as server, server.channel() as channel:
            self.assertEqual(quantize(channel, bearer(TOKEN)), (grpc.StatusCode.OK, ""))
            self.assertEqual(quantize(channel, [("authorization", "bearer " + TOKEN)])[0], grpc.StatusCode.OK)
            refusals = [
                (None, "requires the metadata 'authorization: Bearer <token>'"),
                (bearer("wrong-" + TOKEN), "the bearer token is not valid"),
                (bearer(TOKEN[:-1]), "the bearer token is not valid"),
                ([("authorization", "Basic " + TOKEN)], "not of the form 'Bearer <token>'"),
            ]
            for metadata, message in refusals:
                with self.subTest(metadata=metadata):
                    code, details = quantize(channel, metadata)
                    self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
                    self.assertIn(message, details)
                    self.assertNotIn(TOKEN[:10], details)  # Never echoed.
            page = metrics_page(server)
            self.assertIn('quantd_rejected_requests_total{reason="unauthenticated"} 4', page)
            self.assertIn('grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="Quantize"', page)
            self.assertEqual(server.terminate(), 0)

    def test_every_quantizer_method_is_gated(self):
        """Calls each method of the service descriptor as raw bytes: without
        a token every one is UNAUTHENTICATED; with it every one reaches its
        handler (a method the server forgot to route would answer
        UNIMPLEMENTED with an empty message)."""
        service = pb.DESCRIPTOR.services_by_name["Quantizer"]
        self.assertGreaterEqual(len(service.methods), 7)
        same = lambda b: b  # noqa: E731
        with QuantdProcess("--auth_token_file=" + self.token_file) as server, server.channel() as channel:
            for method in service.methods:
                path = "/%s/%s" % (service.full_name, method.name)
                if method.client_streaming and method.server_streaming:
                    call = lambda md: list(channel.stream_stream(path, same, same)(iter([]), metadata=md, timeout=20))  # noqa: E731,E501
                elif method.client_streaming:
                    call = lambda md: channel.stream_unary(path, same, same)(iter([]), metadata=md, timeout=20)  # noqa: E731,E501
                elif method.server_streaming:
                    call = lambda md: list(channel.unary_stream(path, same, same)(b"", metadata=md, timeout=20))  # noqa: E731,E501
                else:
                    call = lambda md: channel.unary_unary(path, same, same)(b"", metadata=md, timeout=20)  # noqa: E731,E501
                for metadata, refused in ((None, True), (bearer(TOKEN), False)):
                    with self.subTest(method=method.name, token=not refused):
                        try:
                            call(metadata)
                            code, details = grpc.StatusCode.OK, ""
                        except grpc.RpcError as e:
                            code, details = e.code(), e.details()
                        if refused:
                            self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED, details)
                        else:
                            self.assertNotEqual(code, grpc.StatusCode.UNAUTHENTICATED, details)
                            if code == grpc.StatusCode.UNIMPLEMENTED:
                                self.assertIn(method.name, details)
            self.assertEqual(server.terminate(), 0)

    def test_health_and_reflection_stay_open(self):
        with QuantdProcess("--auth_token_file=" + self.token_file) as server, server.channel() as channel:
            for service in ("", "quantd.v1.Quantizer"):
                self.assertEqual(health(channel, service), health_pb2.HealthCheckResponse.SERVING)
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            responses = reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=20)
            names = {s.name for r in responses for s in r.list_services_response.service}
            self.assertIn("quantd.v1.Quantizer", names)
            self.assertEqual(server.terminate(), 0)

    def test_bad_token_files_stop_the_start(self):
        empty = os.path.join(self.tmp.name, "empty")
        with open(empty, "w") as f:
            f.write(" \n")
        missing = os.path.join(self.tmp.name, "missing")
        for path, message in ((empty, "the token is empty"), (missing, "cannot read: No such file or directory"),
                              (self.tmp.name, "cannot read: Is a directory")):
            with self.subTest(path=path):
                result = subprocess.run(
                    [os.environ["QUANTD_BIN"], "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                     "--auth_token_file=" + path], capture_output=True, timeout=30)
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn(("--auth_token_file=%s: %s" % (path, message)).encode(), result.stderr)


if __name__ == "__main__":
    unittest.main()
