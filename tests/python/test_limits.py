"""--max_connection_age and its grace, against the real binary: the server
sends HTTP/2 GOAWAY when a connection reaches its age, a gRPC channel then
reconnects (so it re-resolves its target and reaches new replicas), and a
call in flight at that moment gets the grace to finish, no more.

The ages are short here; gRPC adds up to ±10 % of jitter to them."""

import socket
import struct
import time
import unittest

import grpc
import numpy as np

from quantd.v1 import quantd_pb2 as pb
from quantd_process import QuantdProcess

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS, PING, GOAWAY = 0x4, 0x6, 0x7
ACK = 0x1


def frame(kind, flags, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", 0) + payload


def first_goaway(port, timeout):
    """Opens a bare HTTP/2 connection and reads frames (acknowledging
    SETTINGS and PING as a client must) until a GOAWAY arrives. Returns its
    arrival time in seconds after the connection was made, its error code
    and whether the server closed the connection within `timeout`; None when
    no GOAWAY came within `timeout`."""
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        start = time.monotonic()
        sock.sendall(PREFACE + frame(SETTINGS, 0))
        buffer, goaway = b"", None
        while True:
            remaining = start + timeout - time.monotonic()
            if remaining <= 0:
                return goaway and goaway + (False,)
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                return goaway and goaway + (False,)
            if not data:
                return goaway and goaway + (True,)
            buffer += data
            while len(buffer) >= 9 and len(buffer) >= 9 + int.from_bytes(buffer[:3], "big"):
                length, kind, flags = int.from_bytes(buffer[:3], "big"), buffer[3], buffer[4]
                payload, buffer = buffer[9:9 + length], buffer[9 + length:]
                if kind == SETTINGS and not flags & ACK:
                    sock.sendall(frame(SETTINGS, ACK))
                elif kind == PING and not flags & ACK:
                    sock.sendall(frame(PING, ACK, payload))
                elif kind == GOAWAY and goaway is None:
                    goaway = (time.monotonic() - start, int.from_bytes(payload[4:8], "big"))
    finally:
        sock.close()


def quantize_request(n):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    return pb.QuantizeRequest(input=pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=[n], data=x.tobytes()),
                              options=pb.QuantizeOptions(dtype=pb.DTYPE_INT8))


class ConnectionAgeTest(unittest.TestCase):
    def test_connection_gets_goaway_at_its_age_and_is_closed(self):
        with QuantdProcess("--max_connection_age=1s", "--max_connection_age_grace=1s") as server:
            result = first_goaway(server.grpc_port, timeout=10)
            self.assertIsNotNone(result, "no GOAWAY within 10 s")
            at, error_code, closed = result
            self.assertGreaterEqual(at, 0.85)
            self.assertLess(at, 5)
            self.assertEqual(error_code, 0)  # NO_ERROR: a graceful goodbye.
            self.assertTrue(closed, "the idle connection was not closed after GOAWAY")
            self.assertEqual(server.terminate(), 0)

    def test_without_the_flag_the_connection_is_not_aged_in_seconds(self):
        with QuantdProcess() as server:  # The default age is minutes.
            self.assertIsNone(first_goaway(server.grpc_port, timeout=3))
            self.assertEqual(server.terminate(), 0)

    def test_channel_reconnects_after_the_age(self):
        with QuantdProcess("--max_connection_age=1s") as server, server.channel() as channel:
            states = []
            channel.subscribe(states.append, try_to_connect=False)
            stub = server.stub(channel)
            stub.Quantize(quantize_request(16), timeout=20)
            time.sleep(2.5)  # Past the age: GOAWAY, the channel goes idle.
            stub.Quantize(quantize_request(16), timeout=20)
            connectivity = grpc.ChannelConnectivity

            def ready():
                return [i for i, s in enumerate(states) if s == connectivity.READY]

            # grpcio reports states on a thread of its own, maybe after the call.
            deadline = time.monotonic() + 10
            while len(ready()) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            ready = ready()
            self.assertGreaterEqual(len(ready), 2, states)
            self.assertIn(connectivity.IDLE, states[ready[0]:ready[1]], states)
            self.assertEqual(server.terminate(), 0)

    def test_call_in_flight_at_the_age_gets_the_grace(self):
        # About 2 s of work: the scalar kernels on one thread, 32M elements.
        request = quantize_request(1 << 25)
        for grace, expected in (("60s", grpc.StatusCode.OK), ("100ms", grpc.StatusCode.UNAVAILABLE)):
            with self.subTest(grace=grace), QuantdProcess(
                    "--isa=scalar", "--threads=1", "--max_connection_age=300ms",
                    "--max_connection_age_grace=" + grace) as server, server.channel() as channel:
                grpc.channel_ready_future(channel).result(timeout=20)
                try:
                    server.stub(channel).Quantize(request, timeout=120)
                    code = grpc.StatusCode.OK
                except grpc.RpcError as e:
                    code = e.code()
                self.assertEqual(code, expected)
                self.assertEqual(server.terminate(), 0)


if __name__ == "__main__":
    unittest.main()
