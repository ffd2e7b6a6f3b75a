"""The gRPC channel a Client talks over, and the token it presents; the same
choices as the C++ client (client/quantd_client.h) and quantctl's flags."""

import os

import grpc


def _pem(value, what):
    """PEM bytes: given as bytes, or read from a path."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        with open(os.fspath(value), "rb") as f:
            return f.read()
    except OSError as e:
        raise ValueError("cannot read the %s %r: %s" % (what, os.fspath(value), e.strerror)) from e


def read_token(token, token_file):
    """The bearer token: `token`, or `token_file`'s content with surrounding
    whitespace stripped (as quantd reads --auth_token_file)."""
    if token is not None and token_file is not None:
        raise ValueError("give token or token_file, not both")
    if token_file is not None:
        try:
            with open(os.fspath(token_file), "r", encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as e:
            raise ValueError("cannot read the token file %r: %s" % (os.fspath(token_file), e.strerror)) from e
        if not token:
            raise ValueError("the token file %r is empty" % os.fspath(token_file))
    if token is not None and not token:
        raise ValueError("the token is empty")
    return token


def make_channel(target, *, max_message_bytes, round_robin, tls, tls_ca, tls_cert, tls_key,
                 tls_server_name):
    """Plaintext unless TLS is asked for (tls=True, or any tls_* given);
    tls_ca None means the system's roots. Connecting is lazy: an unreachable
    server or a failed handshake shows as UNAVAILABLE on the first call."""
    if not target:
        raise ValueError("the target is empty")
    if not 0 < max_message_bytes <= 2**31 - 1:  # gRPC takes the limit as an int.
        raise ValueError("max_message_bytes must be in [1, %d], not %d" % (2**31 - 1, max_message_bytes))
    options = [("grpc.max_send_message_length", max_message_bytes),
               ("grpc.max_receive_message_length", max_message_bytes)]
    if round_robin:
        options.append(("grpc.lb_policy_name", "round_robin"))
    if not (tls or tls_ca or tls_cert or tls_key or tls_server_name):
        return grpc.insecure_channel(target, options=options)
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("the TLS client %s is given without its %s: mutual TLS needs both" % (
            ("key", "certificate") if tls_cert is None else ("certificate", "key")))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_pem(tls_ca, "TLS CA file"),
        private_key=_pem(tls_key, "TLS client key"),
        certificate_chain=_pem(tls_cert, "TLS client certificate"))
    if tls_server_name:
        options.append(("grpc.ssl_target_name_override", tls_server_name))
    return grpc.secure_channel(target, credentials, options=options)
