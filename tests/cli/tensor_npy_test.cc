// Tensor <-> .npy conversion: the descr of each DType, and sub-byte packing
// checked against bytes worked out by hand from API.md's packing rules.
#include "client/tensor_npy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quantd::client {
namespace {

using ::testing::HasSubstr;

NpyArray Int8Array(const std::vector<int>& values, absl::string_view descr = kNpyInt8) {
  NpyArray array;
  array.descr = std::string(descr);
  array.shape = {static_cast<int64_t>(values.size())};
  for (int v : values) array.data.push_back(static_cast<char>(v));
  return array;
}

std::string Packed(const std::vector<int>& bytes) {
  std::string packed;
  for (int b : bytes) packed.push_back(static_cast<char>(b));
  return packed;
}

TEST(TensorNpyTest, DescrOfEachDType) {
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_FLOAT32), kNpyFloat32);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_FLOAT16), kNpyFloat16);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_BFLOAT16), kNpyUInt16);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_FLOAT64), kNpyFloat64);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_INT8), kNpyInt8);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_UINT8), kNpyUInt8);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_INT32), kNpyInt32);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_FLOAT8_E4M3FN), kNpyUInt8);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_INT4), kNpyInt8);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_NF4), kNpyUInt8);
  EXPECT_EQ(*NpyDescrFor(v1::DTYPE_BINARY), kNpyInt8);
  EXPECT_FALSE(NpyDescrFor(v1::DTYPE_UNSPECIFIED).ok());
  EXPECT_FALSE(NpyDescrFor(v1::DTYPE_AUTO).ok());
  EXPECT_FALSE(NpyDescrFor(static_cast<v1::DType>(99)).ok());
}

TEST(TensorNpyTest, DefaultDTypes) {
  EXPECT_EQ(*DefaultDTypeFor(kNpyFloat32), v1::DTYPE_FLOAT32);
  EXPECT_EQ(*DefaultDTypeFor(kNpyFloat16), v1::DTYPE_FLOAT16);
  EXPECT_EQ(*DefaultDTypeFor(kNpyFloat64), v1::DTYPE_FLOAT64);
  EXPECT_EQ(*DefaultDTypeFor(kNpyUInt16), v1::DTYPE_BFLOAT16);
  EXPECT_EQ(*DefaultDTypeFor(kNpyUInt8), v1::DTYPE_UINT8);
  EXPECT_FALSE(DefaultDTypeFor("<c8").ok());
}

TEST(TensorNpyTest, WholeByteTypesKeepTheirBytes) {
  NpyArray array = Int8Array({1, -2, 3, -4, 5, -6});
  array.shape = {2, 3};
  absl::StatusOr<v1::Tensor> tensor = TensorFromNpy(array, v1::DTYPE_INT8, "q.npy");
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(tensor->dtype(), v1::DTYPE_INT8);
  EXPECT_THAT(tensor->shape(), ::testing::ElementsAre(2, 3));
  EXPECT_EQ(tensor->data(), array.data);

  absl::StatusOr<NpyArray> back = NpyFromTensor(*tensor);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->descr, kNpyInt8);
  EXPECT_EQ(back->shape, array.shape);
  EXPECT_EQ(back->data, array.data);
}

TEST(TensorNpyTest, Int4PacksLowNibbleFirst) {
  // 1 -> 0x1, -1 -> 0xF, 7 -> 0x7, tail nibble zero.
  absl::StatusOr<v1::Tensor> tensor = TensorFromNpy(Int8Array({1, -1, 7}), v1::DTYPE_INT4, "q");
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(tensor->data(), Packed({0xF1, 0x07}));
}

TEST(TensorNpyTest, TernaryPacksFourPerByte) {
  // Codes 3 (-1), 0, 1, 1 | 3.
  absl::StatusOr<v1::Tensor> tensor =
      TensorFromNpy(Int8Array({-1, 0, 1, 1, -1}), v1::DTYPE_TERNARY, "q");
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(tensor->data(), Packed({0x53, 0x03}));
}

TEST(TensorNpyTest, BinaryPacksEightPerByteSetIsPlusOne) {
  absl::StatusOr<v1::Tensor> tensor =
      TensorFromNpy(Int8Array({1, -1, 1, 1, -1, -1, -1, 1, 1}), v1::DTYPE_BINARY, "q");
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(tensor->data(), Packed({0x8D, 0x01}));
}

TEST(TensorNpyTest, SubByteRoundTripsOverOddLengths) {
  struct Case {
    v1::DType dtype;
    int lowest;
    int highest;
    absl::string_view descr;
  };
  for (const Case& c :
       {Case{v1::DTYPE_INT4, -8, 7, kNpyInt8}, Case{v1::DTYPE_UINT4, 0, 15, kNpyUInt8},
        Case{v1::DTYPE_NF4, 0, 15, kNpyUInt8}, Case{v1::DTYPE_FLOAT4_E2M1, 0, 15, kNpyUInt8},
        Case{v1::DTYPE_LUT4, 0, 15, kNpyUInt8}, Case{v1::DTYPE_TERNARY, -1, 1, kNpyInt8}}) {
    for (int length : {1, 3, 7, 17, 33}) {
      std::vector<int> values;
      for (int i = 0; i < length; ++i) {
        values.push_back(c.lowest + (i * 5) % (c.highest - c.lowest + 1));
      }
      NpyArray array = Int8Array(values, c.descr);
      absl::StatusOr<v1::Tensor> tensor = TensorFromNpy(array, c.dtype, "q");
      ASSERT_TRUE(tensor.ok()) << tensor.status();
      absl::StatusOr<NpyArray> back = NpyFromTensor(*tensor);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(back->data, array.data) << v1::DType_Name(c.dtype) << " length " << length;
      EXPECT_EQ(back->shape, array.shape);
    }
  }
}

TEST(TensorNpyTest, RejectsValuesOutsideTheType) {
  EXPECT_THAT(TensorFromNpy(Int8Array({0, 8}), v1::DTYPE_INT4, "q.npy").status().message(),
              HasSubstr("q.npy: element 1 is 8"));
  EXPECT_FALSE(TensorFromNpy(Int8Array({-9}), v1::DTYPE_INT4, "q").ok());
  EXPECT_FALSE(TensorFromNpy(Int8Array({16}, kNpyUInt8), v1::DTYPE_UINT4, "q").ok());
  EXPECT_FALSE(TensorFromNpy(Int8Array({-2}), v1::DTYPE_TERNARY, "q").ok());
  EXPECT_FALSE(TensorFromNpy(Int8Array({2}), v1::DTYPE_TERNARY, "q").ok());
  EXPECT_FALSE(TensorFromNpy(Int8Array({0}), v1::DTYPE_BINARY, "q").ok());
}

TEST(TensorNpyTest, RejectsTheWrongNpyType) {
  absl::StatusOr<v1::Tensor> tensor =
      TensorFromNpy(Int8Array({1, 2}, kNpyUInt8), v1::DTYPE_INT8, "q.npy");
  ASSERT_FALSE(tensor.ok());
  EXPECT_THAT(tensor.status().message(), HasSubstr("q.npy: holds '|u1' but DTYPE_INT8"));
}

TEST(TensorNpyTest, RejectsATensorWhoseDataDisagreesWithItsShape) {
  v1::Tensor tensor;
  tensor.set_dtype(v1::DTYPE_INT4);
  tensor.add_shape(5);
  tensor.set_data(Packed({1, 2}));
  EXPECT_EQ(NpyFromTensor(tensor).status().code(), absl::StatusCode::kInternal);
  tensor.set_data(Packed({1, 2, 3}));
  EXPECT_TRUE(NpyFromTensor(tensor).ok());
  tensor.set_data(Packed({1, 2, 3, 4}));
  EXPECT_FALSE(NpyFromTensor(tensor).ok());

  // A shape claiming far more than the data holds is refused before the
  // unpacked buffer is sized.
  tensor.clear_shape();
  tensor.add_shape(int64_t{1} << 40);
  tensor.add_shape(int64_t{1} << 40);
  EXPECT_FALSE(NpyFromTensor(tensor).ok());
}

}  // namespace
}  // namespace quantd::client
