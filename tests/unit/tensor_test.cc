// Shape arithmetic and layout checks: the guards in front of every buffer.
#include "quantd/tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace quantd {
namespace {

using ::testing::HasSubstr;

TEST(ElementCountTest, ProductOfDimensions) {
  const std::vector<int64_t> shape{2, 3, 4};
  EXPECT_EQ(*ElementCount(shape, "input.shape"), 24);
  EXPECT_EQ(*ElementCount({}, "input.shape"), 1);  // A scalar.
}

TEST(ElementCountTest, ZeroDimensionGivesEmpty) {
  const std::vector<int64_t> shape{0, 5};
  EXPECT_EQ(*ElementCount(shape, "input.shape"), 0);
}

TEST(ElementCountTest, NegativeDimensionIsNamed) {
  const std::vector<int64_t> shape{4, -3};
  const auto count = ElementCount(shape, "input.shape");
  ASSERT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(count.status().message(), HasSubstr("input.shape[1] = -3 is negative"));
}

TEST(ElementCountTest, OverflowIsRejectedNotWrapped) {
  // 2^32 * 2^32 wraps to 0 in int64 arithmetic done naively.
  const std::vector<int64_t> shape{int64_t{1} << 32, int64_t{1} << 32};
  const auto count = ElementCount(shape, "input.shape");
  ASSERT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(count.status().message(), HasSubstr("more elements than the limit"));
}

TEST(ElementCountTest, AbsurdButNotOverflowingIsRejected) {
  const std::vector<int64_t> shape{int64_t{1} << 21, int64_t{1} << 21};  // 2^42 > 2^40.
  EXPECT_EQ(ElementCount(shape, "s").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ElementCountTest, ZeroDoesNotExcuseAnAbsurdShape) {
  const std::vector<int64_t> shape{0, int64_t{1} << 62, int64_t{1} << 62};
  EXPECT_EQ(ElementCount(shape, "s").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ElementCountTest, RankLimit) {
  const std::vector<int64_t> shape(kMaxRank + 1, 1);
  EXPECT_THAT(ElementCount(shape, "s").status().message(), HasSubstr("rank 33"));
}

TEST(PackedByteSizeTest, SubByteTypesRoundUp) {
  EXPECT_EQ(PackedByteSize(DType::kInt8, 5), 5);
  EXPECT_EQ(PackedByteSize(DType::kFloat32, 5), 20);
  EXPECT_EQ(PackedByteSize(DType::kInt4, 5), 3);
  EXPECT_EQ(PackedByteSize(DType::kTernary, 5), 2);
  EXPECT_EQ(PackedByteSize(DType::kBinary, 9), 2);
  EXPECT_EQ(PackedByteSize(DType::kBinary, 0), 0);
}

TEST(ValidateTensorLayoutTest, ByteCountMustMatchNamingBothNumbers) {
  const std::vector<int64_t> shape{2, 3};
  std::vector<std::byte> data(23);
  const auto count = ValidateTensorLayout({DType::kFloat32, shape, data}, "input");
  ASSERT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(count.status().message(), HasSubstr("input.data has 23 bytes"));
  EXPECT_THAT(count.status().message(), HasSubstr("needs 24"));
}

TEST(ValidateTensorLayoutTest, UnspecifiedAndUnknownDTypes) {
  const std::vector<int64_t> shape{1};
  std::vector<std::byte> data(4);
  EXPECT_THAT(ValidateTensorLayout({DType::kUnspecified, shape, data}, "input").status().message(),
              HasSubstr("DTYPE_UNSPECIFIED"));
  EXPECT_THAT(
      ValidateTensorLayout({static_cast<DType>(77), shape, data}, "input").status().message(),
      HasSubstr("input.dtype = 77 is not a known DType"));
  EXPECT_EQ(ValidateTensorLayout({DType::kAuto, shape, data}, "input").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateTensorLayoutTest, AcceptsMatchingTensor) {
  const std::vector<int64_t> shape{3};
  std::vector<std::byte> data(2);
  EXPECT_EQ(*ValidateTensorLayout({DType::kInt4, shape, data}, "input"), 3);
}

}  // namespace
}  // namespace quantd
