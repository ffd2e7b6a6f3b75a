// Dequantize on hand-computed cases, every output dtype, and rejections.
#include "quantd/dequantize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "formats/float16.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using ::quantd::testing::As;
using ::quantd::testing::MakeTensor;
using ::quantd::testing::OwnedTensor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(DequantizeTest, PerTensorAsymmetricUint8) {
  const OwnedTensor q = MakeTensor(DType::kUInt8, {4}, std::vector<uint8_t>{0, 10, 11, 255});
  const QuantParams params{.dtype = DType::kUInt8,
                           .scheme = Scheme::kAsymmetric,
                           .scales = {0.5f},
                           .zero_points = {10}};
  const auto y = Dequantize(q.view(), params, DType::kUnspecified);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_THAT(As<float>(*y), ElementsAre(-5.0f, 0.0f, 0.5f, 122.5f));
}

TEST(DequantizeTest, PerChannelInt8OnTheLastAxis) {
  const OwnedTensor q = MakeTensor(DType::kInt8, {2, 2}, std::vector<int8_t>{-128, 1, 127, -2});
  const QuantParams params{.dtype = DType::kInt8,
                           .granularity = Granularity::kPerChannel,
                           .axis = -1,
                           .scales = {1.0f, 0.25f}};
  const auto y = Dequantize(q.view(), params, DType::kFloat32);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_THAT(As<float>(*y), ElementsAre(-128.0f, 0.25f, 127.0f, -0.5f));
}

TEST(DequantizeTest, HalfAndBFloat16Outputs) {
  const OwnedTensor q = MakeTensor(DType::kInt8, {2}, std::vector<int8_t>{3, -1});
  const QuantParams params{.dtype = DType::kInt8, .scales = {0.1f}};
  const auto half = Dequantize(q.view(), params, DType::kFloat16);
  ASSERT_TRUE(half.ok());
  EXPECT_THAT(As<uint16_t>(*half),
              ElementsAre(FloatToHalfBits(3 * 0.1f), FloatToHalfBits(-0.1f)));
  const auto bf16 = Dequantize(q.view(), params, DType::kBFloat16);
  ASSERT_TRUE(bf16.ok());
  EXPECT_THAT(As<uint16_t>(*bf16),
              ElementsAre(FloatToBFloat16Bits(3 * 0.1f), FloatToBFloat16Bits(-0.1f)));
}

TEST(DequantizeTest, Rejections) {
  const OwnedTensor q = MakeTensor(DType::kInt8, {2}, std::vector<int8_t>{1, 2});
  const QuantParams good{.dtype = DType::kInt8, .scales = {1.0f}};
  EXPECT_THAT(Dequantize(q.view(), good, DType::kInt8).status().message(),
              HasSubstr("output_dtype INT8 is not a Dequantize output"));
  EXPECT_THAT(Dequantize(q.view(), good, static_cast<DType>(55)).status().message(),
              HasSubstr("output_dtype = 55"));
  QuantParams other = good;
  other.dtype = DType::kUInt8;
  other.scheme = Scheme::kSymmetric;
  EXPECT_THAT(Dequantize(q.view(), other, DType::kFloat32).status().message(),
              HasSubstr("input.dtype INT8 differs from params.dtype UINT8"));
  QuantParams bad_scale = good;
  bad_scale.scales = {-2.0f};
  EXPECT_THAT(Dequantize(q.view(), bad_scale, DType::kFloat32).status().message(),
              HasSubstr("params.scales[0] = -2"));
  const OwnedTensor short_data = MakeTensor(DType::kInt8, {3}, std::vector<int8_t>{1, 2});
  EXPECT_THAT(Dequantize(short_data.view(), good, DType::kFloat32).status().message(),
              HasSubstr("input.data has 2 bytes"));
}

}  // namespace
}  // namespace quantd
