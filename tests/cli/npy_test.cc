// .npy reading and writing: round trips of every supported type and shape,
// files laid out as NumPy writes them, and the rejections ReadNpy promises.
#include "client/npy.h"

#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quantd::client {
namespace {

using ::testing::HasSubstr;

std::string TempPath(absl::string_view name) {
  return absl::StrCat(::testing::TempDir(), "/npy_test_", name);
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A file image with `dict` as the header, in format `major`.0, unpadded: the
// reader must not depend on NumPy's padding.
std::string NpyImage(absl::string_view dict, const std::string& data, int major = 1) {
  std::string image("\x93NUMPY", 6);
  image.push_back(static_cast<char>(major));
  image.push_back(0);
  const uint32_t size = static_cast<uint32_t>(dict.size());
  const int length_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < length_bytes; ++i) image.push_back(static_cast<char>(size >> (8 * i)));
  image.append(dict.data(), dict.size());
  image.append(data);
  return image;
}

absl::StatusOr<NpyArray> ReadImage(absl::string_view name, const std::string& image) {
  const std::string path = TempPath(name);
  WriteBytes(path, image);
  return ReadNpy(path);
}

std::string Bytes(int n) {
  std::string bytes;
  for (int i = 0; i < n; ++i) bytes.push_back(static_cast<char>(i * 37 + 11));
  return bytes;
}

struct RoundTripCase {
  absl::string_view descr;
  std::vector<int64_t> shape;
};

class NpyRoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(NpyRoundTripTest, WriteThenReadGivesTheSameArray) {
  NpyArray array;
  array.descr = std::string(GetParam().descr);
  array.shape = GetParam().shape;
  int64_t count = 1;
  for (int64_t dim : array.shape) count *= dim;
  array.data = Bytes(static_cast<int>(count * NpyItemSize(array.descr)));

  const std::string path = TempPath(
      absl::StrCat("round_trip_", array.descr.substr(1), "_", absl::StrJoin(array.shape, "x")));
  ASSERT_TRUE(WriteNpy(path, array).ok());
  absl::StatusOr<NpyArray> read = ReadNpy(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->descr, array.descr);
  EXPECT_EQ(read->shape, array.shape);
  EXPECT_EQ(read->data, array.data);
}

INSTANTIATE_TEST_SUITE_P(
    EveryTypeAndShape, NpyRoundTripTest,
    ::testing::Values(RoundTripCase{kNpyFloat32, {2, 3}}, RoundTripCase{kNpyFloat32, {}},
                      RoundTripCase{kNpyFloat32, {0}}, RoundTripCase{kNpyFloat32, {2, 0, 4}},
                      RoundTripCase{kNpyFloat16, {7}}, RoundTripCase{kNpyFloat64, {3, 1, 2}},
                      RoundTripCase{kNpyInt8, {5, 3}}, RoundTripCase{kNpyUInt8, {1}},
                      RoundTripCase{kNpyUInt16, {4, 4}}, RoundTripCase{kNpyInt32, {2, 2, 2}}),
    [](const ::testing::TestParamInfo<RoundTripCase>& info) {
      return absl::StrCat(
          info.param.descr.substr(1), "_shape_",
          info.param.shape.empty() ? "scalar" : absl::StrJoin(info.param.shape, "x"));
    });

TEST(NpyTest, HeaderIsLaidOutAsNumPyWritesIt) {
  // The bytes np.save writes (NumPy 1.24) for float32 arrays of these shapes.
  auto numpy_header = [](absl::string_view dict) {
    std::string header("\x93NUMPY\x01\x00\x76\x00", 10);
    header.append(dict.data(), dict.size());
    header.append(128 - 1 - header.size(), ' ');
    header.push_back('\n');
    return header;
  };
  NpyArray array{std::string(kNpyFloat32), {2, 3}, Bytes(24)};
  EXPECT_EQ(*EncodeNpyHeader(array),
            numpy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  array.shape = {};
  array.data = Bytes(4);
  EXPECT_EQ(*EncodeNpyHeader(array),
            numpy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (), }"));

  array.shape = {6};
  array.data = Bytes(24);
  absl::StatusOr<std::string> header = EncodeNpyHeader(array);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_THAT(*header, HasSubstr("'shape': (6,), }"));
  EXPECT_EQ(header->size() % 64, 0u);
  EXPECT_EQ(header->back(), '\n');
}

TEST(NpyTest, HeaderOver64KiBUsesVersion2) {
  // 30000 dimensions of 1 make a dictionary of about 90 KB.
  NpyArray array{std::string(kNpyFloat32), std::vector<int64_t>(30000, 1), Bytes(4)};
  absl::StatusOr<std::string> header = EncodeNpyHeader(array);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ((*header)[6], 2);
  EXPECT_EQ(header->size() % 64, 0u);

  const std::string path = TempPath("version2");
  ASSERT_TRUE(WriteNpy(path, array).ok());
  absl::StatusOr<NpyArray> read = ReadNpy(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->shape, array.shape);
  EXPECT_EQ(read->data, array.data);
}

TEST(NpyTest, EncodeRejectsDataThatDisagreesWithTheShape) {
  NpyArray array{std::string(kNpyFloat32), {2, 3}, Bytes(20)};
  EXPECT_EQ(EncodeNpyHeader(array).status().code(), absl::StatusCode::kInvalidArgument);
  array.descr = "<c8";
  array.data = Bytes(48);
  EXPECT_EQ(EncodeNpyHeader(array).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(NpyTest, ReadsVersions1To3AndAnySpacingOrKeyOrder) {
  const std::string data = Bytes(12);
  for (int major : {1, 2, 3}) {
    absl::StatusOr<NpyArray> read = ReadImage(
        absl::StrCat("v", major),
        NpyImage("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }\n", data, major));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->descr, "<f2");
    EXPECT_EQ(read->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(read->data, data);
  }
  absl::StatusOr<NpyArray> read = ReadImage(
      "spacing", NpyImage("{ \"shape\":(6 ,) ,\"fortran_order\":False,\"descr\":\"<u2\"}", data));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->shape, (std::vector<int64_t>{6}));
}

TEST(NpyTest, OneByteTypesAreNormalisedToNoByteOrder) {
  absl::StatusOr<NpyArray> read = ReadImage(
      "i1", NpyImage("{'descr': '<i1', 'fortran_order': False, 'shape': (3,), }", Bytes(3)));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->descr, kNpyInt8);
}

struct RejectCase {
  absl::string_view name;
  std::string image;
  absl::string_view message;  // Part of the error.
};

class NpyRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(NpyRejectTest, RejectsWithAMessageNamingTheFile) {
  const std::string path = TempPath(GetParam().name);
  WriteBytes(path, GetParam().image);
  absl::StatusOr<NpyArray> read = ReadNpy(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << read.status();
  EXPECT_THAT(read.status().message(), HasSubstr(path));
  EXPECT_THAT(read.status().message(), HasSubstr(GetParam().message));
}

std::string Dict(absl::string_view descr, absl::string_view fortran, absl::string_view shape) {
  return absl::StrCat("{'descr': '", descr, "', 'fortran_order': ", fortran, ", 'shape': ", shape,
                      ", }");
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, NpyRejectTest,
    ::testing::Values(
        RejectCase{"fortran", NpyImage(Dict("<f4", "True", "(2, 3)"), Bytes(24)), "Fortran"},
        RejectCase{"big_endian", NpyImage(Dict(">f4", "False", "(2, 3)"), Bytes(24)), "big-endian"},
        RejectCase{"complex", NpyImage(Dict("<c8", "False", "(3,)"), Bytes(24)), "'<c8'"},
        RejectCase{"bool", NpyImage(Dict("|b1", "False", "(3,)"), Bytes(3)), "'|b1'"},
        RejectCase{
            "structured",
            NpyImage("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", Bytes(4)),
            "structured"},
        RejectCase{"short_data", NpyImage(Dict("<f4", "False", "(2, 3)"), Bytes(20)),
                   "needs 24 bytes of data but the file has 20"},
        RejectCase{"trailing_data", NpyImage(Dict("<f4", "False", "(2, 3)"), Bytes(28)),
                   "needs 24 bytes of data but the file has 28"},
        // Claims 2^126 elements: must be refused without allocating.
        RejectCase{
            "huge_shape",
            NpyImage(Dict("<f4", "False", "(9223372036854775807, 9223372036854775807)"), Bytes(16)),
            "needs more than"},
        RejectCase{"dimension_overflow",
                   NpyImage(Dict("<f4", "False", "(99999999999999999999,)"), Bytes(4)),
                   "fits in int64"},
        RejectCase{"negative_dimension", NpyImage(Dict("<f4", "False", "(-1,)"), Bytes(4)),
                   "non-negative"},
        RejectCase{"missing_key", NpyImage("{'descr': '<f4', 'shape': (1,)}", Bytes(4)),
                   "'fortran_order'"},
        RejectCase{
            "unknown_key",
            NpyImage("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", Bytes(4)),
            "'x'"},
        RejectCase{"repeated_key",
                   NpyImage("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                            "'shape': (1,)}",
                            Bytes(4)),
                   "repeated"},
        RejectCase{"trailing_text", NpyImage(Dict("<f4", "False", "(1,)") + " x", Bytes(4)),
                   "trailing"},
        RejectCase{"bad_magic", std::string("\x93NUMPX\x01\x00\x00\x00", 10), "magic"},
        RejectCase{"too_short", std::string("\x93NUM", 4), "magic"},
        RejectCase{"version_4", NpyImage(Dict("<f4", "False", "(1,)"), Bytes(4), 4), "version 4.0"},
        // A header length beyond the end of the file: refused before the
        // header is read into memory.
        RejectCase{"header_too_long", std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f{", 13),
                   "claims 2147483647 bytes"},
        RejectCase{"header_past_end", std::string("\x93NUMPY\x02\x00\x00\x00\x01\x00{", 13),
                   "claims 65536 bytes but the file has 1"}),
    [](const ::testing::TestParamInfo<RejectCase>& info) { return std::string(info.param.name); });

TEST(NpyTest, MissingFileIsNotFound) {
  absl::StatusOr<NpyArray> read = ReadNpy(TempPath("does_not_exist.npy"));
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr("does_not_exist.npy"));
}

TEST(NpyTest, ParseNpyHeaderReadsEachKey) {
  absl::StatusOr<NpyHeader> header =
      ParseNpyHeader("{'descr': '<f8', 'fortran_order': True, 'shape': (4, 0, 2), }");
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->descr, "<f8");
  EXPECT_TRUE(header->fortran_order);
  EXPECT_EQ(header->shape, (std::vector<int64_t>{4, 0, 2}));
}

TEST(NpyTest, NumElementsIsBoundedByTheLimit) {
  EXPECT_EQ(*NpyNumElements({}, 10), 1);
  EXPECT_EQ(*NpyNumElements({2, 5}, 10), 10);
  EXPECT_FALSE(NpyNumElements({2, 6}, 10).ok());
  EXPECT_EQ(*NpyNumElements({std::numeric_limits<int64_t>::max(), 0}, 10), 0);
  EXPECT_FALSE(NpyNumElements({3, -1}, 10).ok());
  EXPECT_FALSE(
      NpyNumElements({std::numeric_limits<int64_t>::max(), 2}, std::numeric_limits<int64_t>::max())
          .ok());
}

}  // namespace
}  // namespace quantd::client
