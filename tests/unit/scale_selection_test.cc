// Scale and zero point from a range, on hand-computed cases.
#include "ops/scale_selection.h"

#include <cfloat>
#include <cmath>

#include <gtest/gtest.h>

namespace quantd {
namespace {

// The rule of an integer target, its limit as SymmetricLimit gives it.
ScaleRule Rule(Scheme scheme, bool is_unsigned, bool full_range, int32_t qmin, int32_t qmax) {
  ScaleRule rule;
  rule.scheme = scheme;
  rule.qmin = qmin;
  rule.qmax = qmax;
  rule.limit = full_range && !is_unsigned ? (qmax - qmin) / 2.0f : static_cast<float>(qmax);
  return rule;
}

TEST(ScaleSelectionTest, SymmetricRestrictedInt8) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-2.54f, 1.0f, Rule(Scheme::kSymmetric, false, false, -127, 127));
  EXPECT_EQ(sz.scale, 2.54f / 127.0f);
  EXPECT_EQ(sz.zero_point, 0);
}

TEST(ScaleSelectionTest, SymmetricFullRangeUsesHalfTheLevels) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-1.0f, 2.55f, Rule(Scheme::kSymmetric, false, true, -128, 127));
  EXPECT_EQ(sz.scale, 2.55f / 127.5f);
}

TEST(ScaleSelectionTest, AsymmetricUint8) {
  // [-10, 245] spans 255 levels of 1: zero point 10.
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-10.0f, 245.0f, Rule(Scheme::kAsymmetric, true, false, 0, 255));
  EXPECT_EQ(sz.scale, 1.0f);
  EXPECT_EQ(sz.zero_point, 10);
}

TEST(ScaleSelectionTest, AsymmetricRangeIsWidenedToIncludeZero) {
  // [2, 6] -> [0, 6]: scale 6/255, zero point 0.
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(2.0f, 6.0f, Rule(Scheme::kAsymmetric, true, false, 0, 255));
  EXPECT_EQ(sz.scale, 6.0f / 255.0f);
  EXPECT_EQ(sz.zero_point, 0);
  const ScaleZeroPoint neg = ChooseScaleZeroPoint(-6.0f, -2.0f, Rule(Scheme::kAsymmetric, true, false, 0, 255));
  EXPECT_EQ(neg.zero_point, 255);
}

TEST(ScaleSelectionTest, AsymmetricInt8ZeroPoint) {
  // [-1, 3]: scale 4/255; zp = -128 - round(-1 / (4/255)) = -128 + 64 = -64.
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-1.0f, 3.0f, Rule(Scheme::kAsymmetric, false, false, -128, 127));
  EXPECT_EQ(sz.scale, 4.0f / 255.0f);
  EXPECT_EQ(sz.zero_point, -64);
}

TEST(ScaleSelectionTest, ZeroRangeGivesUnitScale) {
  EXPECT_EQ(ChooseScaleZeroPoint(0, 0, Rule(Scheme::kSymmetric, false, false, -127, 127)).scale, 1.0f);
  const ScaleZeroPoint asym = ChooseScaleZeroPoint(0, 0, Rule(Scheme::kAsymmetric, false, false, -128, 127));
  EXPECT_EQ(asym.scale, 1.0f);
  EXPECT_EQ(asym.zero_point, -128);
}

TEST(ScaleSelectionTest, TinyRangeScaleIsAtLeastFltMin) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-1e-44f, 1e-44f, Rule(Scheme::kSymmetric, false, false, -127, 127));
  EXPECT_EQ(sz.scale, FLT_MIN);
}

TEST(ScaleSelectionTest, HugeRangeStaysFinite) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-FLT_MAX, FLT_MAX, Rule(Scheme::kAsymmetric, true, false, 0, 255));
  EXPECT_TRUE(std::isfinite(sz.scale));
  EXPECT_EQ(sz.scale, static_cast<float>(2.0 * FLT_MAX / 255));
  EXPECT_GE(sz.zero_point, 127);  // 0 - round(about -127.5).
  EXPECT_LE(sz.zero_point, 128);
}

TEST(ScaleSelectionTest, E8M0IsTheMxBlockScale) {
  // OCP MX: 2^(floor(log2(amax)) - emax); E4M3's emax is floor(log2(448)) = 8.
  ScaleRule rule;
  rule.limit = 448;
  rule.scale_dtype = DType::kE8M0;
  EXPECT_EQ(ChooseScaleZeroPoint(-3.0f, 1000.0f, rule).scale, 0x1p1f);  // 2^(9 - 8).
  EXPECT_EQ(ChooseScaleZeroPoint(-0.7f, 0.1f, rule).scale, 0x1p-9f);   // 2^(-1 - 8).
  rule.limit = 127;  // MXINT8: emax 6.
  EXPECT_EQ(ChooseScaleZeroPoint(-1.0f, 1.0f, rule).scale, 0x1p-6f);
  EXPECT_EQ(ChooseScaleZeroPoint(0, 0, rule).scale, 1.0f);
  EXPECT_EQ(ChooseScaleZeroPoint(-1e-40f, 0, rule).scale, 0x1p-126f);  // Kept a normal float.
}

TEST(ScaleSelectionTest, Float16ScalesAreRoundedBeforeTheZeroPoint) {
  ScaleRule rule = Rule(Scheme::kAsymmetric, true, false, 0, 255);
  rule.scale_dtype = DType::kFloat16;
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-1.0f, 2.0f, rule);
  // 3/255 = 0.0117647...; the nearest binary16 is 0.011764526 (0x2206).
  EXPECT_EQ(sz.scale, 0.011764526f);
  EXPECT_EQ(sz.zero_point, static_cast<int32_t>(-std::nearbyint(-1.0f / 0.011764526f)));
  rule.scheme = Scheme::kSymmetric;
  EXPECT_EQ(ChooseScaleZeroPoint(-1e-30f, 0, rule).scale, 0x1p-24f);  // Smallest binary16.
}

}  // namespace
}  // namespace quantd
