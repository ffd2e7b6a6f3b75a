"""Certificates for the TLS tests, made with the openssl command at test
time: a CA, a server certificate for localhost and 127.0.0.1 (SAN) and a
client certificate signed by it, and a second, unrelated CA with a client
certificate of its own. EC P-256 keys: quick to make, and what gRPC's TLS
and OpenSSL handle everywhere."""

import os
import shutil
import subprocess

OPENSSL = shutil.which("openssl")


def _run(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _key(name, cwd):
    _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + ".key", cwd=cwd)


def _ca(name, cwd):
    _key(name, cwd)
    _run("req", "-x509", "-new", "-key", name + ".key", "-out", name + ".pem", "-days", "2",
         "-subj", "/CN=%s" % name,
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=cwd)


def _leaf(name, ca, extensions, cwd):
    _key(name, cwd)
    _run("req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", "/CN=%s" % name, cwd=cwd)
    with open(os.path.join(cwd, name + ".ext"), "w") as f:
        f.write(extensions)
    _run("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
         "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=cwd)


class Pki:
    """Paths of the PEM files made in `directory`."""

    def __init__(self, directory):
        self.dir = directory
        _ca("ca", directory)
        _leaf("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
              "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n", directory)
        _leaf("client", "ca", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n", directory)
        _ca("other_ca", directory)
        _leaf("other_client", "other_ca", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
              directory)

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()
