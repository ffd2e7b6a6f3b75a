// What a QuantdClient presents to the server: plaintext or TLS (optionally
// with a client certificate, for mutual TLS), and the bearer token.
#ifndef QUANTD_CLIENT_CLIENT_CREDENTIALS_H_
#define QUANTD_CLIENT_CLIENT_CREDENTIALS_H_

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/status/statusor.h"

namespace quantd::client {

struct TlsOptions {
  // TLS is on when this is set or any field below is given.
  bool enabled = false;
  // PEM CA certificates to trust; empty: the system's roots.
  std::string ca_file;
  // PEM client certificate chain and its unencrypted key, for servers that
  // require client certificates (quantd --tls_client_ca). Both or neither.
  std::string cert_file;
  std::string key_file;
  // The name checked against the server's certificate instead of the
  // target's host, e.g. when connecting by IP address to a certificate
  // issued for a DNS name.
  std::string server_name;

  bool on() const {
    return enabled || !ca_file.empty() || !cert_file.empty() || !key_file.empty() ||
           !server_name.empty();
  }
};

// Insecure credentials when TLS is off; otherwise SSL credentials from the
// files, with the server-name override added to `args`. Unreadable files
// are NOT_FOUND (or PERMISSION_DENIED), a certificate without its key is
// INVALID_ARGUMENT; messages name the option and the path.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsOptions& tls, grpc::ChannelArguments* args);

// The token in `path`: its content with surrounding whitespace stripped; an
// empty token is INVALID_ARGUMENT.
absl::StatusOr<std::string> ReadAuthTokenFile(const std::string& path);

}  // namespace quantd::client

#endif  // QUANTD_CLIENT_CLIENT_CREDENTIALS_H_
