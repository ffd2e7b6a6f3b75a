// Quantizing and dequantizing slice by slice equals doing it at once.
#include <cmath>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "quantd/dequantize.h"
#include "quantd/quantize.h"
#include "test_tensors.h"

namespace quantd {
namespace {

TEST(SlicesTest, SlicedQuantizeAndDequantizeEqualTheWholeTensor) {
  const int64_t rows = 3 * kSliceAlignment / 128 + 1, cols = 128;
  const int64_t n = rows * cols;
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = std::sin(0.001f * i) * (1 + i % 13);
  const auto x = testing::Float32Tensor({rows, cols}, v);
  for (DType dtype : {DType::kInt4, DType::kInt8, DType::kFloat8E4M3FN, DType::kTernary}) {
    QuantizeOptions find;
    find.dtype = dtype;
    find.granularity = Granularity::kPerGroup;
    find.axis = 1;
    find.group_size = 64;
    const auto whole_params = Quantize(x.view(), find);
    ASSERT_TRUE(whole_params.ok()) << whole_params.status();
    QuantizeOptions given;
    given.params = whole_params->result.params;
    given.rounding = dtype == DType::kInt8 ? Rounding::kStochastic : Rounding::kHalfToEven;
    given.seed = 3;
    const auto whole = Quantize(x.view(), given);
    ASSERT_TRUE(whole.ok());

    const auto job = PrepareQuantizeShape(DType::kFloat32, x.shape, given);
    ASSERT_TRUE(job.ok()) << job.status();
    std::vector<std::byte> codes(job->output_bytes);
    ErrorSums sums;
    for (int64_t first = 0; first < n; first += kSliceAlignment) {
      const int64_t count = std::min(kSliceAlignment, n - first);
      const absl::Status part = QuantizeSlice(
          *job, first, std::span(x.bytes).subspan(first * 4, count * 4),
          std::span(codes).subspan(PackedByteSize(dtype, first), PackedByteSize(dtype, count)),
          &sums);
      ASSERT_TRUE(part.ok()) << part;
    }
    EXPECT_EQ(codes, whole->data) << DTypeName(dtype);
    EXPECT_EQ(FinishErrorStats(sums).sqnr_db, whole->result.error.sqnr_db);  // Bit for bit.

    const auto djob = PrepareDequantizeShape(dtype, x.shape, given.params.value(), DType::kFloat32);
    ASSERT_TRUE(djob.ok()) << djob.status();
    std::vector<std::byte> out(n * 4);
    for (int64_t first = 0; first < n; first += kSliceAlignment) {
      const int64_t count = std::min(kSliceAlignment, n - first);
      ASSERT_TRUE(DequantizeSlice(*djob, first, count,
                                  std::span<const std::byte>(codes).subspan(
                                      PackedByteSize(dtype, first), PackedByteSize(dtype, count)),
                                  std::span(out).subspan(first * 4, count * 4))
                      .ok());
    }
    EXPECT_EQ(out, *Dequantize({dtype, x.shape, codes}, *given.params, DType::kFloat32));
  }
}

TEST(SlicesTest, ANonFiniteValueIsNamedByItsTensorIndex) {
  std::vector<float> v(2 * kSliceAlignment, 1.0f);
  v[kSliceAlignment + 5] = NAN;
  const auto x = testing::Float32Tensor({2 * kSliceAlignment}, v);
  QuantizeOptions given;
  given.params = QuantParams{.dtype = DType::kInt8, .scales = {1.0f}};
  const auto job = PrepareQuantizeShape(DType::kFloat32, x.shape, given);
  std::vector<std::byte> codes(kSliceAlignment);
  ErrorSums sums;
  const absl::Status part = QuantizeSlice(*job, kSliceAlignment,
                                          std::span(x.bytes).subspan(kSliceAlignment * 4), codes, &sums);
  EXPECT_EQ(part.message().substr(0, 30), "input.data[65541] = nan is not");
}

}  // namespace
}  // namespace quantd
