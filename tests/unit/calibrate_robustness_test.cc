// Calibrator on inputs that fuzzing found: extreme values and states from
// the wire that no server writes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ops/fine_histogram.h"
#include "quantd/calibrate.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using ::testing::HasSubstr;
using testing::Float32Tensor;

CalibrateOptions Percentile() {
  CalibrateOptions o;
  o.method = RangeMethod::kPercentile;
  o.dtype = DType::kInt8;
  return o;
}

// Values all below 2^-116 once gave a histogram bins so narrow that the
// float32 reciprocal of their width overflowed: values were binned through
// inf, undefined behaviour that counted them in the wrong bins or outside
// the histogram.
TEST(CalibrateRobustnessTest, TinyValuesAreBinnedLikeAnyOthers) {
  const std::vector<float> first{1e-35f, -3e-36f, 0.0f}, second{4e-36f, 0.0f, -1e-38f};
  auto c = Calibrator::Create(Percentile());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->AddBatch(Float32Tensor({3}, first).view(), 0, {}).ok());
  ASSERT_TRUE(c->AddBatch(Float32Tensor({3}, second).view(), 1, {}).ok());

  const CalibrationHistogram& got = c->state().histograms[0];
  FineHistogram want(static_cast<int64_t>(got.counts.size()));
  want.Cover(1e-35);
  for (const std::vector<float>* batch : {&first, &second}) {
    for (float x : *batch) want.Add(want.BinOf(x), 1);
  }
  EXPECT_EQ(got.range_exponent, want.range_exponent());
  EXPECT_EQ(got.counts, want.counts());
  EXPECT_NEAR(c->Finish()->stats.clip_max[0], 1e-35f, 1e-36f);
}

TEST(CalibrateRobustnessTest, MergeRefusesHistogramsBelowTheSmallestRange) {
  auto made = Calibrator::Create(Percentile());
  ASSERT_TRUE(made->AddBatch(Float32Tensor({2}, {1.0f, -2.0f}).view(), 0, {}).ok());
  CalibrationState state = made->state();
  state.histograms[0].range_exponent = FineHistogram::kMinRangeExponent - 1;
  auto c = Calibrator::Create(Percentile());
  EXPECT_THAT(c->Merge(state, 0).message(), HasSubstr("options.merge[0] is not a state this server made"));
}

}  // namespace
}  // namespace quantd
