// Files to gRPC credentials.
#include "client/client_credentials.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "quantd/status_macros.h"

namespace quantd::client {
namespace {

absl::StatusOr<std::string> ReadFile(absl::string_view what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string message = absl::StrCat(what, " '", path, "': cannot read: ", std::strerror(error));
    return error == EACCES ? absl::PermissionDeniedError(message) : absl::NotFoundError(message);
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(what, " '", path, "': read failed"));
  return std::move(contents).str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsOptions& tls, grpc::ChannelArguments* args) {
  if (!tls.on()) return grpc::InsecureChannelCredentials();
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        tls.cert_file.empty() ? "the TLS client key is given without its certificate"
                              : "the TLS client certificate is given without its key",
        ": mutual TLS needs both"));
  }
  grpc::SslCredentialsOptions ssl;
  if (!tls.ca_file.empty()) {
    QUANTD_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile("TLS CA file", tls.ca_file));
  }
  if (!tls.cert_file.empty()) {
    QUANTD_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFile("TLS client certificate", tls.cert_file));
    QUANTD_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile("TLS client key", tls.key_file));
  }
  if (!tls.server_name.empty()) args->SetSslTargetNameOverride(tls.server_name);
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<std::string> ReadAuthTokenFile(const std::string& path) {
  QUANTD_ASSIGN_OR_RETURN(std::string contents, ReadFile("auth token file", path));
  const absl::string_view token = absl::StripAsciiWhitespace(contents);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("auth token file '", path, "' is empty"));
  }
  return std::string(token);
}

}  // namespace quantd::client
