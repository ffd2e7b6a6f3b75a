// Calibrator on inputs that fuzzing found: extreme values, claimed sizes
// and states from the wire that no server writes.
#include <limits>

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

// A calibration's histograms are slots x bins counts whatever its batches
// hold: an empty batch claiming 4096 channels once allocated 256 MiB (and
// 65536 channels, the most an empty tensor may name, 4 GiB).
TEST(CalibrateRobustnessTest, HistogramsAreBoundedWhateverTheSlotsClaimed) {
  CalibrateOptions o = Percentile();
  o.granularity = Granularity::kPerChannel;
  o.axis = 1;
  const testing::OwnedTensor empty = Float32Tensor({0, 4096}, {});
  auto c = Calibrator::Create(o);
  const absl::Status refused = c->AddBatch(empty.view(), 0, {});
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("batch 0: it has 4096 parameter slots [4096]: their "
                                           "histograms of 8192 bins (num_bins = 2048)"));
  o.num_bins = 16;  // 4096 x 64 bins fit.
  auto fewer_bins = Calibrator::Create(o);
  EXPECT_TRUE(fewer_bins->AddBatch(empty.view(), 0, {}).ok());
}

// A state whose channel_shape makes more slots than it has minima was
// adopted, and the next batch of that shape read and wrote past them.
TEST(CalibrateRobustnessTest, MergeRefusesAChannelShapeThatDoesNotMakeItsSlots) {
  CalibrateOptions o;
  o.dtype = DType::kInt8;
  o.granularity = Granularity::kPerChannel;
  auto made = Calibrator::Create(o);
  ASSERT_TRUE(made->AddBatch(Float32Tensor({3, 2}, {1, 2, 3, 4, 5, 6}).view(), 0, {}).ok());
  CalibrationState state = made->state();
  ASSERT_EQ(state.slot_shape, std::vector<int64_t>{3});
  auto c = Calibrator::Create(o);
  ASSERT_TRUE(c->Merge(state, 0).ok());
  state.slot_shape = {8};
  auto lied_to = Calibrator::Create(o);
  EXPECT_THAT(lied_to->Merge(state, 0).message(),
              HasSubstr("options.merge[0] is not a state this server made"));
}

// Counts near 2^63 from two states overflowed when added (undefined).
TEST(CalibrateRobustnessTest, MergeRefusesCountsThatCouldOverflow) {
  auto made = Calibrator::Create(Percentile());
  ASSERT_TRUE(made->AddBatch(Float32Tensor({2}, {1.0f, -2.0f}).view(), 0, {}).ok());
  const CalibrationState good = made->state();
  const int64_t huge = std::numeric_limits<int64_t>::max();

  CalibrationState many = good;
  many.values_seen = huge;
  many.histograms[0].counts[0] = huge;
  auto c = Calibrator::Create(Percentile());
  EXPECT_THAT(c->Merge(many, 0).message(), HasSubstr("is not a state this server made"));

  CalibrationState more_counts_than_values = good;
  more_counts_than_values.histograms[0].counts[0] = 3;
  EXPECT_THAT(c->Merge(more_counts_than_values, 1).message(),
              HasSubstr("is not a state this server made"));

  CalibrationState most = good;
  most.values_seen = int64_t{1} << 62;
  ASSERT_TRUE(c->Merge(most, 2).ok());
  EXPECT_THAT(c->Merge(good, 3).message(), HasSubstr("more than 2^62 values"));
}

}  // namespace
}  // namespace quantd
