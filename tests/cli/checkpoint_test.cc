// The pieces of quantize-checkpoint that need no server: target lists,
// name globs, and .safetensors layout and validation on small files.
#include "client/checkpoint_command.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "client/safetensors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quantd::client {
namespace {

using ::testing::HasSubstr;

TEST(BalancedTargetTest, AddressListsBecomeIpv4OrIpv6Uris) {
  EXPECT_EQ(*BalancedTarget("127.0.0.1:50051"), "127.0.0.1:50051");
  EXPECT_EQ(*BalancedTarget("dns:///quantd-headless:50051"), "dns:///quantd-headless:50051");
  EXPECT_EQ(*BalancedTarget("10.0.0.1:1,10.0.0.2:2, 10.0.0.3"),
            "ipv4:///10.0.0.1:1,10.0.0.2:2,10.0.0.3:50051");
  EXPECT_EQ(*BalancedTarget("[::1]:1,[::1]:2"), "ipv6:///[::1]:1,[::1]:2");
  EXPECT_EQ(*BalancedTarget("ipv4:///10.0.0.1:1,10.0.0.2:2"), "ipv4:///10.0.0.1:1,10.0.0.2:2");
  EXPECT_THAT(std::string(BalancedTarget("a:1,b:2").status().message()), HasSubstr("dns:///"));
  EXPECT_FALSE(BalancedTarget("10.0.0.1:1,[::1]:2").ok());
  EXPECT_FALSE(BalancedTarget("10.0.0.1:1,10.0.0.256:2").ok());
}

TEST(GlobTest, StarsCrossDots) {
  EXPECT_TRUE(MatchesAnyGlob("model.layers.0.q_proj.weight", {"*.weight"}));
  EXPECT_TRUE(MatchesAnyGlob("model.norm.weight", {"*.bias", "*norm*"}));
  EXPECT_FALSE(MatchesAnyGlob("model.norm.weight", {"*.bias"}));
  EXPECT_FALSE(MatchesAnyGlob("x", {}));
  EXPECT_TRUE(MatchesAnyGlob("layers.1.w", {"layers.[0-3].*"}));
}

class SafetensorsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary) << bytes;
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_ = ::testing::TempDir() + "/safetensors_test_" + std::to_string(::getpid());
};

TEST_F(SafetensorsTest, LayoutWritesWhatTheReaderReads) {
  SafetensorsLayout layout;
  ASSERT_TRUE(layout.Add("a", "F32", {2, 3}).ok());
  ASSERT_TRUE(layout.Add("b", "I8", {5}).ok());
  EXPECT_FALSE(layout.Add("a", "F32", {1}).ok());
  layout.SetMetadata("k", "v");
  std::string file = layout.Header();
  EXPECT_EQ(file.size() % 8, 0u);
  file.append(24 + 5, '\x01');
  ASSERT_EQ(layout.total_bytes(), file.size());
  auto read = SafetensorsFile::Open(Write(file));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ((*read)->tensors().size(), 2u);
  EXPECT_EQ((*read)->tensors()[1].name, "b");
  EXPECT_EQ((*read)->tensors()[1].begin, 24u);
  EXPECT_EQ((*read)->Data((*read)->tensors()[1]).size(), 5u);
  EXPECT_EQ((*read)->metadata().at("k"), "v");
}

std::string WithHeader(const std::string& json, size_t data_bytes) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return bytes + json + std::string(data_bytes, '\0');
}

TEST_F(SafetensorsTest, RejectsWhatDoesNotAddUp) {
  const struct {
    std::string json;
    size_t data;
    const char* message;
  } cases[] = {
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4, "beyond the data section"},
      {R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8, "is 12 bytes"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12, "overlap"},
      {R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 8]}})",
       8, "overflows"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": 1}})", 8, "unknown field"},
      {R"({"a": 1})", 0, "must be an object"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {}})", 8, "twice"},
      {R"({"a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", 8, "non-negative integers"},
  };
  for (const auto& c : cases) {
    auto read = SafetensorsFile::Open(Write(WithHeader(c.json, c.data)));
    ASSERT_FALSE(read.ok()) << c.json;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(read.status().message()), HasSubstr(c.message)) << c.json;
  }
  // Zero-size tensors may share an offset; gaps between tensors are allowed.
  EXPECT_TRUE(SafetensorsFile::Open(Write(WithHeader(
                  R"({"e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]},
                      "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                      "b": {"dtype": "I8", "shape": [1], "data_offsets": [6, 7]}})", 8)))
                  .ok());
}

TEST_F(SafetensorsTest, OutputFileIsRemovedUnlessCommitted) {
  const std::string out = path_ + ".out";
  {
    auto file = OutputFile::Create(out, 4);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->WriteAt(0, "abcd").ok());
    EXPECT_EQ(::access((*file)->temp_path().c_str(), F_OK), 0);
  }
  EXPECT_NE(::access(out.c_str(), F_OK), 0);
  {
    auto file = OutputFile::Create(out, 4);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->WriteAt(0, "abcd").ok());
    ASSERT_TRUE((*file)->Commit().ok());
  }
  std::ifstream in(out);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "abcd");
  std::remove(out.c_str());
}

}  // namespace
}  // namespace quantd::client
