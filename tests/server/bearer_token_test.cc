// BearerToken: what counts as the token, and which "authorization"
// metadata passes; refusals never repeat a token.
#include "server/bearer_token.h"

#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace quantd::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

constexpr char kToken[] = "tok-3f9a_Z.0123456789";

// string_ref does not own: `storage` keeps the strings alive.
Metadata MetadataOf(const std::vector<std::pair<std::string, std::string>>& entries,
                    std::vector<std::string>* storage) {
  storage->clear();
  storage->reserve(entries.size() * 2);
  Metadata metadata;
  for (const auto& [key, value] : entries) {
    storage->push_back(key);
    const std::string& k = storage->back();
    storage->push_back(value);
    const std::string& v = storage->back();
    metadata.emplace(grpc::string_ref(k), grpc::string_ref(v));
  }
  return metadata;
}

TEST(BearerTokenTest, SurroundingWhitespaceIsNotPartOfTheToken) {
  auto token = BearerToken::FromString(absl::StrCat("\n  ", kToken, " \r\n"));
  ASSERT_TRUE(token.ok()) << token.status();
  std::vector<std::string> storage;
  EXPECT_TRUE(token->Check(MetadataOf({{"authorization", absl::StrCat("Bearer ", kToken)}}, &storage)).ok());
}

TEST(BearerTokenTest, EmptyOrUnsendableTokensAreRefused) {
  EXPECT_THAT(BearerToken::FromString(" \n\t").status().message(), HasSubstr("the token is empty"));
  const auto inner_space = BearerToken::FromString("two words");
  EXPECT_THAT(inner_space.status().message(),
              HasSubstr("byte 32 at offset 3; a bearer token is printable ASCII without spaces"));
  EXPECT_FALSE(BearerToken::FromString("caf\xc3\xa9").ok());
}

TEST(BearerTokenTest, OnlyTheRightTokenPasses) {
  auto token = BearerToken::FromString(kToken);
  ASSERT_TRUE(token.ok());
  const std::string right = kToken;
  struct Case {
    std::vector<std::pair<std::string, std::string>> metadata;
    bool ok;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{}, false, "requires the metadata 'authorization: Bearer <token>'"},
      {{{"x-other", "Bearer " + right}}, false, "requires the metadata"},
      {{{"authorization", "Bearer " + right}}, true, ""},
      {{{"authorization", "bearer " + right}}, true, ""},  // The scheme ignores case.
      {{{"authorization", "BEARER   " + right + " "}}, true, ""},
      {{{"authorization", "Bearer " + right + "x"}}, false, "not valid"},
      {{{"authorization", "Bearer " + right.substr(0, right.size() - 1)}}, false, "not valid"},
      {{{"authorization", "Bearer " + right.substr(1)}}, false, "not valid"},
      {{{"authorization", "Bearer "}}, false, "not valid"},
      {{{"authorization", "Basic " + right}}, false, "not of the form 'Bearer <token>'"},
      {{{"authorization", right}}, false, "not of the form"},
      {{{"authorization", "Bearer " + right}, {"authorization", "Bearer " + right}},
       false,
       "carries 2 'authorization' metadata entries"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> storage;
    const grpc::Status status = token->Check(MetadataOf(c.metadata, &storage));
    const std::string sent = c.metadata.empty() ? "" : c.metadata.front().second;
    EXPECT_EQ(status.ok(), c.ok) << sent;
    if (c.ok) continue;
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << sent;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << sent;
    EXPECT_THAT(status.error_message(), Not(HasSubstr(right.substr(0, 8)))) << sent;
  }
}

}  // namespace
}  // namespace quantd::server
