// PEM parsing with OpenSSL (the library gRPC's TLS runs on here), then
// gRPC's SSL server credentials.
#include "server/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "quantd/status_macros.h"
#include "server/flag_file.h"

namespace quantd::server {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using UniqueBio = std::unique_ptr<BIO, BioFree>;
using UniqueX509 = std::unique_ptr<X509, X509Free>;
using UniquePkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

UniqueBio MemoryBio(const std::string& pem) {
  return UniqueBio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Never prompt on the terminal for a passphrase: an encrypted key just fails.
int NoPassphrase(char*, int, int, void*) { return 0; }

// The certificates in `pem`, first one returned; an error when there is none.
absl::StatusOr<UniqueX509> FirstCertificate(absl::string_view flag, const std::string& path,
                                            const std::string& pem) {
  UniqueBio bio = MemoryBio(pem);
  UniqueX509 first(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
  if (first == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "=", path, ": no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)"));
  }
  return first;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files) {
  if (files.cert.empty() && files.key.empty() && files.client_ca.empty()) {
    return grpc::InsecureServerCredentials();
  }
  constexpr absl::string_view kNeedBoth =
      ": TLS needs both --tls_cert and --tls_key (--tls_client_ca adds mutual TLS on top)";
  if (files.cert.empty() && files.key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_client_ca=", files.client_ca, " is given without --tls_cert and --tls_key", kNeedBoth));
  }
  if (files.cert.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key=", files.key, " is given without --tls_cert", kNeedBoth));
  }
  if (files.key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert=", files.cert, " is given without --tls_key", kNeedBoth));
  }
  QUANTD_ASSIGN_OR_RETURN(std::string cert_pem, ReadFlagFile("tls_cert", files.cert));
  QUANTD_ASSIGN_OR_RETURN(std::string key_pem, ReadFlagFile("tls_key", files.key));
  QUANTD_ASSIGN_OR_RETURN(UniqueX509 leaf, FirstCertificate("tls_cert", files.cert, cert_pem));
  UniqueBio key_bio = MemoryBio(key_pem);
  UniquePkey key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key=", files.key,
        ": no unencrypted PEM private key in it (expected -----BEGIN PRIVATE KEY----- or "
        "-----BEGIN EC/RSA PRIVATE KEY-----)"));
  }
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("--tls_key=", files.key,
                                                   " is not the key of the certificate in --tls_cert=",
                                                   files.cert));
  }

  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({std::move(key_pem), std::move(cert_pem)});
  if (!files.client_ca.empty()) {
    QUANTD_ASSIGN_OR_RETURN(std::string ca_pem, ReadFlagFile("tls_client_ca", files.client_ca));
    QUANTD_RETURN_IF_ERROR(FirstCertificate("tls_client_ca", files.client_ca, ca_pem).status());
    options.pem_root_certs = std::move(ca_pem);
    // Without a certificate that chains to this CA the handshake fails, so
    // no call from an unknown client reaches the service.
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

std::string DescribeTransport(const TlsFiles& files) {
  if (files.cert.empty()) return "plaintext";
  if (files.client_ca.empty()) return "TLS";
  return absl::StrCat("mutual TLS (client certificates signed by ", files.client_ca, ")");
}

}  // namespace quantd::server
