// The gRPC port's credentials from --tls_cert, --tls_key and --tls_client_ca:
// plaintext without them, TLS with a certificate and key, mutual TLS when a
// client CA is given too.
#ifndef QUANTD_SERVER_TLS_CREDENTIALS_H_
#define QUANTD_SERVER_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"

namespace quantd::server {

struct TlsFiles {
  std::string cert;       // PEM certificate chain, leaf first.
  std::string key;        // PEM private key of the leaf, unencrypted.
  std::string client_ca;  // PEM CA certificates that sign client certificates.
};

// Reads and checks the files before gRPC sees them, so that a wrong file is
// a start-up error naming the flag and the path rather than failed
// handshakes later: each file must hold what its flag promises, the key
// must belong to the certificate, and a key or a client CA needs a
// certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// "plaintext", "TLS" or "mutual TLS (client CA <path>)", for the start-up log.
std::string DescribeTransport(const TlsFiles& files);

}  // namespace quantd::server

#endif  // QUANTD_SERVER_TLS_CREDENTIALS_H_
