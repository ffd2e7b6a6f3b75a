// The bearer token of --auth_token_file and its check against a call's
// "authorization" metadata.
#ifndef QUANTD_SERVER_BEARER_TOKEN_H_
#define QUANTD_SERVER_BEARER_TOKEN_H_

#include <array>
#include <map>
#include <string>

#include <grpcpp/support/status.h>
#include <grpcpp/support/string_ref.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quantd::server {

class BearerToken {
 public:
  using Sha256 = std::array<unsigned char, 32>;

  // The token is the file's content with surrounding whitespace stripped. An
  // empty token, or one with characters that gRPC metadata cannot carry
  // (outside printable ASCII), is an error naming --auth_token_file.
  static absl::StatusOr<BearerToken> FromFile(const std::string& path);
  static absl::StatusOr<BearerToken> FromString(absl::string_view token);

  // OK when `metadata` holds exactly one "authorization: Bearer <token>"
  // with this token; otherwise UNAUTHENTICATED with a message that says what
  // is wrong but never repeats a token.
  grpc::Status Check(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;

 private:
  explicit BearerToken(const Sha256& digest) : digest_(digest) {}

  // Only the digest is kept: calls compare digests of equal, fixed size, so
  // neither the token's bytes nor its length show in the comparison's time.
  Sha256 digest_;
};

}  // namespace quantd::server

#endif  // QUANTD_SERVER_BEARER_TOKEN_H_
