"""Shared by the checkpoint tests: .safetensors written and read by hand
(struct + json + numpy; the `safetensors` package is not used), quantd
processes on loopback ports with their metrics, and quantctl runs."""

import json
import os
import queue
import re
import struct
import subprocess
import threading
import urllib.request

import numpy as np

QUANTD = os.environ.get("QUANTD_BIN", "")
QUANTCTL = os.environ.get("QUANTCTL_BIN", "")

NUMPY_OF = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I8": "i1", "U8": "u1",
            "I32": "<i4", "I64": "<i8", "F8_E4M3": "u1", "F8_E5M2": "u1", "BF16": "<u2"}
SAFETENSORS_OF = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<f8"): "F64",
                  np.dtype("i1"): "I8", np.dtype("u1"): "U8", np.dtype("<i4"): "I32",
                  np.dtype("<i8"): "I64"}


def safetensors_bytes(tensors, metadata=None):
    """The file for {name: ndarray}, in the given order."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        # ("BF16", uint16 bits) for the types numpy lacks.
        dtype, array = array if isinstance(array, tuple) else (SAFETENSORS_OF[array.dtype], array)
        data = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_safetensors(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors, metadata))


def raw_file(header, data=b""):
    """A file from a header dict (or raw JSON bytes) and a data section."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


class Safetensors:
    """A .safetensors file read into memory: header, metadata, tensors."""

    def __init__(self, path):
        with open(path, "rb") as f:
            blob = f.read()
        (n,) = struct.unpack("<Q", blob[:8])
        self.header = json.loads(blob[8:8 + n])
        self.metadata = self.header.pop("__metadata__", {})
        self.data = blob[8 + n:]

    def names(self):
        return list(self.header)

    def raw(self, name):
        begin, end = self.header[name]["data_offsets"]
        return self.data[begin:end]

    def dtype(self, name):
        return self.header[name]["dtype"]

    def shape(self, name):
        return self.header[name]["shape"]

    def array(self, name):
        entry = self.header[name]
        return np.frombuffer(self.raw(name), dtype=NUMPY_OF[entry["dtype"]]).reshape(entry["shape"])

    def params(self, name):
        return json.loads(self.metadata["quantd.params." + name])


_LISTENING = re.compile(r"gRPC listening on port (\d+) .*metrics on port (\d+)")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class Server:
    """A quantd process on ephemeral loopback ports; stderr drained on a
    thread so that it never blocks."""

    def __init__(self, *flags):
        self.lines = []
        self.proc = subprocess.Popen(
            [QUANTD, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0", *flags],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ports = queue.Queue()

        def drain():
            for line in self.proc.stderr:
                self.lines.append(line)
                match = _LISTENING.search(line)
                if match:
                    ports.put((int(match.group(1)), int(match.group(2))))
            ports.put(None)

        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()
        try:
            got = ports.get(timeout=30)
        except queue.Empty:
            got = None
        if got is None:
            self.kill()
            raise RuntimeError("quantd did not report its ports:\n" + self.log())
        self.port, self.metrics_port = got

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def log(self):
        return "".join(self.lines)

    def metric(self, name, **labels):
        """The sum of `name`'s samples whose labels include `labels`."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
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

    def handled(self, method):
        return self.metric("grpc_server_handled_total", grpc_method=method, grpc_code="OK")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.drainer.join(timeout=5)
        self.proc.stderr.close()


def run_quantctl(target, *args, timeout=120):
    return subprocess.run([QUANTCTL, f"--target={target}", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
