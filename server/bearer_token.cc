// Token loading, "Bearer" parsing and a constant-time comparison of SHA-256
// digests (OpenSSL's, which gRPC already links).
#include "server/bearer_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/flag_file.h"

namespace quantd::server {
namespace {

constexpr char kMetadataKey[] = "authorization";

BearerToken::Sha256 Digest(absl::string_view bytes) {
  BearerToken::Sha256 digest{};
  unsigned int length = 0;
  // SHA-256 of a short buffer cannot fail short of a broken OpenSSL; if it
  // did, the all-zero digest would match no real token's digest.
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

grpc::Status Unauthenticated(absl::string_view why) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(why));
}

}  // namespace

absl::StatusOr<BearerToken> BearerToken::FromString(absl::string_view token) {
  token = absl::StripAsciiWhitespace(token);
  if (token.empty()) return absl::InvalidArgumentError("the token is empty");
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    if (c < 0x21 || c > 0x7e) {
      // Reported by position only: the message must not reveal the token.
      return absl::InvalidArgumentError(absl::StrCat(
          "the token has byte ", static_cast<int>(c), " at offset ", i,
          "; a bearer token is printable ASCII without spaces"));
    }
  }
  return BearerToken(Digest(token));
}

absl::StatusOr<BearerToken> BearerToken::FromFile(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFlagFile("auth_token_file", path);
  if (!contents.ok()) return contents.status();
  absl::StatusOr<BearerToken> token = FromString(*contents);
  if (!token.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_token_file=", path, ": ", token.status().message()));
  }
  return token;
}

grpc::Status BearerToken::Check(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const {
  const auto [first, last] = metadata.equal_range(kMetadataKey);
  const auto count = std::distance(first, last);
  if (count == 0) {
    return Unauthenticated(
        "this server requires the metadata 'authorization: Bearer <token>' on every "
        "quantd.v1.Quantizer call");
  }
  if (count > 1) {
    return Unauthenticated(absl::StrCat("the call carries ", count,
                                        " 'authorization' metadata entries; send exactly one"));
  }
  const absl::string_view value(first->second.data(), first->second.size());
  // The scheme is case-insensitive (RFC 7235); one or more spaces follow it.
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size() || !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return Unauthenticated("the 'authorization' metadata is not of the form 'Bearer <token>'");
  }
  const Sha256 presented = Digest(absl::StripAsciiWhitespace(value.substr(kScheme.size())));
  if (CRYPTO_memcmp(presented.data(), digest_.data(), digest_.size()) != 0) {
    return Unauthenticated("the bearer token is not valid for this server");
  }
  return grpc::Status::OK;
}

}  // namespace quantd::server
