"""Runs the quantd container image with buildah (no Docker engine) and calls
quantd inside it from the Python client.

    /usr/bin/python3 tests/container/test_image.py [IMAGE]

IMAGE defaults to $QUANTD_IMAGE, else localhost/quantd:<project version>
(what scripts/build_image.sh builds). Checks, in order:
  - the image config: a HEALTHCHECK (Docker format), a non-root numeric
    USER, the ENTRYPOINT;
  - the container, started with `buildah run --isolation chroot` on the host
    network, runs the image's ENTRYPOINT as the image's user, listening on
    two free loopback ports this test picks (flags after the entrypoint's own
    override them); /proc shows the server's uid is the image's, not 0;
  - readiness and liveness through the client's health();
  - Quantize of a numpy array (INT8 per tensor, INT4 per channel): the codes
    against a numpy reference with the server's scales, and x' = codes * scale;
  - the HEALTHCHECK's own command, run inside the same container (its
    --target moved to the chosen port), exits 0;
  - SIGTERM stops the server (it drains and exits 0); the container is
    removed whatever happened.
Needs root (buildah's chroot isolation here), Debian's protoc and
grpc_python_plugin (stubs generated into a temporary folder), python3-grpcio
and python3-numpy.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDAH = ["buildah", "--storage-driver", os.environ.get("BUILDAH_STORAGE_DRIVER", "vfs")]
READY_TIMEOUT_S = 60


def log(msg):
    print("== " + msg, flush=True)


def default_image():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        m = re.search(r"project\(quantd VERSION ([0-9.]+)", f.read())
    return "localhost/quantd:" + (m.group(1) if m else "dev")


def buildah(*args, check=True):
    r = subprocess.run(BUILDAH + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and r.returncode != 0:
        raise RuntimeError("buildah %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout.strip()


def generate_stubs(out):
    """quantd's and gRPC health's Python stubs, as proto/CMakeLists.txt makes them."""
    plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
    for root, protos, dest in [
            (os.path.join(ROOT, "proto"), ["quantd/v1/quantd.proto"], out),
            ("/usr/share/grpc-proto/grpc", ["health/v1/health.proto"], os.path.join(out, "grpc_protos"))]:
        os.makedirs(dest, exist_ok=True)
        subprocess.run(["protoc", "--proto_path=" + root, "--python_out=" + dest, "--grpc_out=" + dest,
                        "--plugin=protoc-gen-grpc=" + plugin] + [os.path.join(root, p) for p in protos],
                       check=True)
    sys.path[:0] = [out, os.path.join(ROOT, "client", "python")]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_processes(port):
    """(pid, (real uid, effective uid)) of the processes started as
    quantd --listen=127.0.0.1:port."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            if argv[0] != b"/usr/local/bin/quantd" or ("--listen=127.0.0.1:%d" % port).encode() not in argv:
                continue
            with open("/proc/%s/status" % pid) as f:
                uid_line = next(l for l in f if l.startswith("Uid:"))
            found.append((int(pid), tuple(int(v) for v in uid_line.split()[1:3])))
        except (OSError, StopIteration):
            continue
    return found


def check_codes(np, x, q, qmax, axis=None):
    """codes == clip(round_half_even(x / scale)) with the server's scales, except
    within 1e-3 of a tie (where x * (1/scale) and x / scale may round apart)."""
    scales = np.asarray(q.params.scales, dtype=np.float32)
    if axis is None:
        amax = np.abs(x).max()
        assert scales.shape == (1,), scales.shape
        assert abs(scales[0] - amax / qmax) <= 1e-6 * amax / qmax, (scales[0], amax / qmax)
        s = scales[0]
    else:
        amax = np.abs(x).max(axis=1 - axis)
        assert scales.shape == amax.shape, (scales.shape, amax.shape)
        assert np.allclose(scales, amax / qmax, rtol=1e-6), (scales, amax / qmax)
        s = np.expand_dims(scales, 1 - axis)
    ratio = x / s
    want = np.clip(np.rint(ratio), -qmax, qmax).astype(np.int64)
    codes = np.asarray(q.codes).astype(np.int64)
    assert codes.shape == x.shape, (codes.shape, x.shape)
    clear = np.abs(np.abs(ratio - np.floor(ratio)) - 0.5) > 1e-3
    bad = np.argwhere(clear & (codes != want))
    assert bad.size == 0, "codes differ from the reference at %s" % bad[:5].tolist()
    assert np.abs(codes - want).max() <= 1
    assert q.dequantized is not None
    assert np.allclose(q.dequantized, codes * s, rtol=1e-6, atol=0), "x' != codes * scale"
    return int(clear.sum())


def main():
    image = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("QUANTD_IMAGE") or default_image()
    tmp = tempfile.mkdtemp(prefix="quantd-image-test-")
    generate_stubs(os.path.join(tmp, "python"))
    import numpy as np
    from quantd_client import LIVENESS, Client, QuantdError

    t0 = time.monotonic()
    log("image " + image)
    info = json.loads(buildah("inspect", "--type", "image", image))
    docker = info.get("Docker", {}).get("config", {}) or {}
    oci = info.get("OCIv1", {}).get("config", {}) or {}
    health = docker.get("Healthcheck") or {}
    test = health.get("Test") or []
    assert test[:1] == ["CMD"] and len(test) > 1, "no HEALTHCHECK CMD in the image config: %r" % health
    user = docker.get("User") or oci.get("User") or ""
    assert re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", user), "USER must be a numeric non-root uid, is %r" % user
    uid = int(user.split(":")[0])
    entrypoint = docker.get("Entrypoint") or oci.get("Entrypoint")
    assert entrypoint and entrypoint[0] == "/usr/local/bin/quantd", entrypoint
    log("config: USER %s, HEALTHCHECK %s, ENTRYPOINT %s" % (user, test[1:], entrypoint))

    grpc_port, metrics_port = free_port(), free_port()
    while metrics_port == grpc_port:
        metrics_port = free_port()
    target = "127.0.0.1:%d" % grpc_port
    container = buildah("from", "--pull-never", "--name", "quantd-image-test-%d" % os.getpid(), image)
    server = None
    try:
        # No --user: buildah runs as the image's USER (checked in /proc below).
        argv = entrypoint + ["--listen=" + target, "--metrics_listen=127.0.0.1:%d" % metrics_port,
                             "--shutdown_grace_seconds=5"]
        server = subprocess.Popen(BUILDAH + ["run", "--isolation", "chroot", "--network", "host",
                                             container, "--"] + argv, start_new_session=True)
        log("container %s: %s" % (container, " ".join(argv)))

        deadline = time.monotonic() + READY_TIMEOUT_S
        with Client(target, timeout=5) as client:
            while True:
                assert server.poll() is None, "the container exited early (%s)" % server.returncode
                try:
                    if client.health():
                        break
                except QuantdError:
                    pass
                assert time.monotonic() < deadline, "not ready within %d s" % READY_TIMEOUT_S
                time.sleep(0.2)
            assert client.health(LIVENESS)
            log("ready after %.1f s" % (time.monotonic() - t0))

            procs = server_processes(grpc_port)
            assert len(procs) == 1, "quantd's process in /proc: %r" % procs
            pid, uids = procs[0]
            assert uids == (uid, uid), "quantd runs as %r, the image says %d" % (uids, uid)
            assert uid != 0
            log("quantd runs as uid %d" % uid)

            rng = np.random.default_rng(7)
            x = (rng.standard_normal((64, 257)) * 3).astype(np.float32)
            q = client.quantize(x, "int8", return_dequantized=True)
            assert q.dtype == "int8", q.dtype
            n = check_codes(np, x, q, 127)
            log("Quantize INT8 per tensor: %d of %d codes equal the reference, none differs by more than 1 "
                "(the others lie within 1e-3 of a tie)" % (n, x.size))
            q = client.quantize(x, "int4", granularity="per_channel", axis=0, return_dequantized=True)
            n = check_codes(np, x, q, 7, axis=0)
            log("Quantize INT4 per channel: %d of %d codes equal the reference" % (n, x.size))

        hc = [a.replace("127.0.0.1:50051", target) for a in test[1:]]
        r = subprocess.run(BUILDAH + ["run", "--isolation", "chroot", "--network", "host", container, "--"] + hc,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        assert r.returncode == 0, "HEALTHCHECK command exited %d: %s" % (r.returncode, r.stdout)
        log("HEALTHCHECK command exits 0: %s" % " ".join(hc))

        # To quantd itself, as a container engine's stop does; buildah run
        # exits with its status.
        os.kill(pid, signal.SIGTERM)
        rc = server.wait(timeout=30)
        assert rc == 0, "quantd exited %d after SIGTERM" % rc
        assert not server_processes(grpc_port), "quantd still running after SIGTERM"
        log("stopped by SIGTERM, exit code 0")
    finally:
        if server is not None and server.poll() is None:
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.wait()
        buildah("rm", container, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    log("container test passed in %.1f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
