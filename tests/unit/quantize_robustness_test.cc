// Quantize on inputs that fuzzing found.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "quantd/quantize.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using testing::Float32Tensor;

std::vector<uint8_t> Bytes(const std::vector<std::byte>& data) {
  std::vector<uint8_t> out;
  for (std::byte b : data) out.push_back(static_cast<uint8_t>(b));
  return out;
}

// x / scale beyond float's range was encoded through infinity: a NaN code
// (undefined behaviour) and NaN errors. It saturates like any value beyond
// the format, and counts as clipped.
TEST(QuantizeRobustnessTest, FloatTargetsSaturateScaledValuesThatOverflowFloat) {
  const auto x = Float32Tensor({3}, {1000.0f, -3.0f, 0.5f});
  QuantizeOptions o;
  o.params = QuantParams{};
  o.params->dtype = DType::kFloat8E4M3FN;
  o.params->scales = {FLT_MIN};  // 1000 / FLT_MIN is infinite in float.
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  // 448 = S.1111.110, the largest E4M3FN value.
  EXPECT_EQ(Bytes(q->data), (std::vector<uint8_t>{0x7e, 0xfe, 0x7e}));
  EXPECT_EQ(q->result.error.clipped_count, 3);
  EXPECT_TRUE(std::isfinite(q->result.error.mse));
  EXPECT_TRUE(std::isfinite(q->result.error.max_abs_error));
}

// BFLOAT16's largest value is within 0.4 % of float's: a value 0.5 %
// beyond the clip range already overflows float when scaled.
TEST(QuantizeRobustnessTest, BFloat16BeyondItsClipRangeSaturates) {
  const auto x = Float32Tensor({3}, {100.5f, -100.5f, 50.0f});
  QuantizeOptions o;
  o.dtype = DType::kBFloat16;
  o.clip_min = -100.0f;
  o.clip_max = 100.0f;
  const auto q = Quantize(x.view(), o);
  ASSERT_TRUE(q.ok()) << q.status();
  // Little endian: 0x7f7f and 0xff7f are +-0x1.fep127, the largest
  // BFLOAT16; 0x7eff is half of it.
  EXPECT_EQ(Bytes(q->data), (std::vector<uint8_t>{0x7f, 0x7f, 0x7f, 0xff, 0xff, 0x7e}));
  EXPECT_EQ(q->result.error.clipped_count, 2);
  EXPECT_TRUE(std::isfinite(q->result.error.mse));
}

}  // namespace
}  // namespace quantd
