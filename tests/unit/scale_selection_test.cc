// Scale and zero point from a range, on hand-computed cases.
#include "ops/scale_selection.h"

#include <cfloat>
#include <cmath>

#include <gtest/gtest.h>

namespace quantd {
namespace {

TEST(ScaleSelectionTest, SymmetricRestrictedInt8) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-2.54f, 1.0f, Scheme::kSymmetric, false, false,
                                                 -127, 127);
  EXPECT_EQ(sz.scale, 2.54f / 127.0f);
  EXPECT_EQ(sz.zero_point, 0);
}

TEST(ScaleSelectionTest, SymmetricFullRangeUsesHalfTheLevels) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-1.0f, 2.55f, Scheme::kSymmetric, false, true,
                                                 -128, 127);
  EXPECT_EQ(sz.scale, 2.55f / 127.5f);
}

TEST(ScaleSelectionTest, AsymmetricUint8) {
  // [-10, 245] spans 255 levels of 1: zero point 10.
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-10.0f, 245.0f, Scheme::kAsymmetric, true,
                                                 false, 0, 255);
  EXPECT_EQ(sz.scale, 1.0f);
  EXPECT_EQ(sz.zero_point, 10);
}

TEST(ScaleSelectionTest, AsymmetricRangeIsWidenedToIncludeZero) {
  // [2, 6] -> [0, 6]: scale 6/255, zero point 0.
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(2.0f, 6.0f, Scheme::kAsymmetric, true, false,
                                                 0, 255);
  EXPECT_EQ(sz.scale, 6.0f / 255.0f);
  EXPECT_EQ(sz.zero_point, 0);
  const ScaleZeroPoint neg = ChooseScaleZeroPoint(-6.0f, -2.0f, Scheme::kAsymmetric, true,
                                                  false, 0, 255);
  EXPECT_EQ(neg.zero_point, 255);
}

TEST(ScaleSelectionTest, AsymmetricInt8ZeroPoint) {
  // [-1, 3]: scale 4/255; zp = -128 - round(-1 / (4/255)) = -128 + 64 = -64.
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-1.0f, 3.0f, Scheme::kAsymmetric, false, false,
                                                 -128, 127);
  EXPECT_EQ(sz.scale, 4.0f / 255.0f);
  EXPECT_EQ(sz.zero_point, -64);
}

TEST(ScaleSelectionTest, ZeroRangeGivesUnitScale) {
  EXPECT_EQ(ChooseScaleZeroPoint(0, 0, Scheme::kSymmetric, false, false, -127, 127).scale, 1.0f);
  const ScaleZeroPoint asym = ChooseScaleZeroPoint(0, 0, Scheme::kAsymmetric, false, false,
                                                   -128, 127);
  EXPECT_EQ(asym.scale, 1.0f);
  EXPECT_EQ(asym.zero_point, -128);
}

TEST(ScaleSelectionTest, TinyRangeScaleIsAtLeastFltMin) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-1e-44f, 1e-44f, Scheme::kSymmetric, false,
                                                 false, -127, 127);
  EXPECT_EQ(sz.scale, FLT_MIN);
}

TEST(ScaleSelectionTest, HugeRangeStaysFinite) {
  const ScaleZeroPoint sz = ChooseScaleZeroPoint(-FLT_MAX, FLT_MAX, Scheme::kAsymmetric, true,
                                                 false, 0, 255);
  EXPECT_TRUE(std::isfinite(sz.scale));
  EXPECT_EQ(sz.scale, static_cast<float>(2.0 * FLT_MAX / 255));
  EXPECT_GE(sz.zero_point, 127);  // 0 - round(about -127.5).
  EXPECT_LE(sz.zero_point, 128);
}

}  // namespace
}  // namespace quantd
