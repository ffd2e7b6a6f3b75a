"""Starts a real quantd binary on loopback ports for tests, and stops it."""

import os
import re
import signal
import subprocess
import threading
import time

import grpc

from quantd.v1 import quantd_pb2_grpc

_LISTENING = re.compile(rb"gRPC listening on port (\d+) .*metrics on port (\d+)")


class QuantdProcess:
    """A quantd child process; use as a context manager."""

    def __init__(self, *flags):
        self.binary = os.environ["QUANTD_BIN"]
        self.flags = list(flags)
        self.proc = None
        self.grpc_port = None
        self.metrics_port = None
        self.log = []
        self._reader = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            [self.binary, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0", *self.flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while self.grpc_port is None:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("quantd exited before listening: %r" % b"".join(self.log))
            self.log.append(line)
            match = _LISTENING.search(line)
            if match:
                self.grpc_port, self.metrics_port = int(match.group(1)), int(match.group(2))
            if time.monotonic() > deadline:
                raise RuntimeError("quantd did not start in 30 s")
        # Keep draining stderr so the child never blocks on a full pipe.
        self._reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._reader.start()
        return self

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.log.append(line)

    @property
    def target(self):
        return "127.0.0.1:%d" % self.grpc_port

    def channel(self):
        return grpc.insecure_channel(self.target, options=[
            ("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)])

    def stub(self, channel=None):
        return quantd_pb2_grpc.QuantizerStub(channel or self.channel())

    def rss_bytes(self):
        """The server's resident memory now."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    def terminate(self, timeout=30):
        """SIGTERM, then the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        self.proc.stderr.close()
