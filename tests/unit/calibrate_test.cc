// Calibrator: observers over batches, exact merging, and its errors.
#include "quantd/calibrate.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ops/fine_histogram.h"
#include "quantd/kernel_pool.h"
#include "quantd/quantize.h"
#include "test_tensors.h"

namespace quantd {
namespace {

using ::testing::HasSubstr;
using testing::Float32Tensor;
using testing::OwnedTensor;

std::vector<OwnedTensor> Batches(int count, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<OwnedTensor> batches;
  for (int b = 0; b < count; ++b) {
    std::vector<float> v(rows * cols);
    for (int64_t i = 0; i < rows * cols; ++i) v[i] = normal(rng) * (1 + i % cols) + (b == 3 ? 9.0f : 0.0f);
    batches.push_back(Float32Tensor({rows, cols}, v));
  }
  return batches;
}

CalibrationResult Calibrate(const CalibrateOptions& options, const std::vector<const OwnedTensor*>& batches,
                      const std::vector<CalibrationState>& merge = {},
                      CalibrationState* state_out = nullptr) {
  auto c = Calibrator::Create(options);
  EXPECT_TRUE(c.ok()) << c.status();
  for (size_t i = 0; i < merge.size(); ++i) EXPECT_TRUE(c->Merge(merge[i], i).ok());
  for (size_t i = 0; i < batches.size(); ++i) {
    const absl::Status s = c->AddBatch(batches[i]->view(), i, {});
    EXPECT_TRUE(s.ok()) << s;
  }
  if (state_out) *state_out = c->state();
  auto r = c->Finish();
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : CalibrationResult{};
}

TEST(FineHistogramTest, GrowingEqualsBinningAtTheFinalRange) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(-1000, 1000);
  FineHistogram grown(64), direct(64);
  direct.Cover(1000);
  for (int i = 0; i < 10000; ++i) {
    const double x = u(rng) * std::pow(10.0, -(i % 6));
    grown.Cover(std::fabs(x));  // Grows step by step.
    grown.Add(grown.BinOf(x), 1);
    direct.Add(direct.BinOf(x), 1);
  }
  EXPECT_EQ(grown.range_exponent(), direct.range_exponent());
  EXPECT_EQ(grown.counts(), direct.counts());
}

TEST(CalibrateTest, MinMaxEqualsQuantizeOfTheConcatenation) {
  const auto batches = Batches(5, 4, 16, 2);
  std::vector<float> all;
  for (const OwnedTensor& b : batches) {
    const auto v = testing::As<float>(b.bytes);
    all.insert(all.end(), v.begin(), v.end());
  }
  CalibrateOptions o;
  o.dtype = DType::kUInt8;
  o.granularity = Granularity::kPerChannel;
  o.axis = 1;
  std::vector<const OwnedTensor*> ptrs;
  for (const auto& b : batches) ptrs.push_back(&b);
  const CalibrationResult r = Calibrate(o, ptrs);
  QuantizeOptions q;
  q.dtype = DType::kUInt8;
  q.granularity = Granularity::kPerChannel;
  q.axis = 1;
  const auto whole = Quantize(Float32Tensor({20, 16}, all).view(), q);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(r.params, whole->result.params);
  EXPECT_EQ(r.stats.values_seen, 5 * 64);
  EXPECT_EQ(r.stats.batches_seen, 5);
}

TEST(CalibrateTest, ShardedAndMergedEqualsOneStreamForEveryMergeableMethod) {
  const auto batches = Batches(14, 8, 32, 3);
  for (RangeMethod method : {RangeMethod::kMinMax, RangeMethod::kAbsMax, RangeMethod::kPercentile,
                             RangeMethod::kEntropy, RangeMethod::kMse, RangeMethod::kAbsMean}) {
    for (Granularity g : {Granularity::kPerTensor, Granularity::kPerChannel}) {
      CalibrateOptions o;
      o.method = method;
      o.dtype = DType::kInt8;
      o.granularity = g;
      o.axis = -1;
      o.num_bins = 256;
      std::vector<const OwnedTensor*> all;
      for (const auto& b : batches) all.push_back(&b);
      const CalibrationResult one = Calibrate(o, all);
      for (int shards : {2, 7}) {
        std::vector<const OwnedTensor*> order = all;
        std::shuffle(order.begin(), order.end(), std::mt19937(shards));
        std::vector<CalibrationState> states;
        for (int s = 0; s < shards; ++s) {
          std::vector<const OwnedTensor*> part;
          for (size_t i = s; i < order.size(); i += shards) part.push_back(order[i]);
          CalibrationState state;
          Calibrate(o, part, {}, &state);
          states.push_back(state);
        }
        std::reverse(states.begin(), states.end());
        const CalibrationResult merged = Calibrate(o, {}, states);
        // Histograms merge exactly: not just within a bin, the same.
        EXPECT_EQ(merged.params, one.params) << RangeMethodName(method) << " " << shards;
        EXPECT_EQ(merged.stats.clip_max, one.stats.clip_max);
        EXPECT_EQ(merged.stats.values_seen, one.stats.values_seen);
      }
    }
  }
}

TEST(CalibrateTest, PercentileIsWithinABinOfTheExactOne) {
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<OwnedTensor> batches;
  std::vector<double> mags;
  for (int b = 0; b < 10; ++b) {
    std::vector<float> v(20000);
    for (float& x : v) {
      x = normal(rng) * (b + 1);
      mags.push_back(std::fabs(x));
    }
    batches.push_back(Float32Tensor({20000}, v));
  }
  std::sort(mags.begin(), mags.end());
  CalibrateOptions o;
  o.method = RangeMethod::kPercentile;
  o.dtype = DType::kInt8;
  o.percentile = 99.9;
  std::vector<const OwnedTensor*> ptrs;
  for (const auto& b : batches) ptrs.push_back(&b);
  const CalibrationResult r = Calibrate(o, ptrs);
  // numpy's linear definition: between the order statistics around
  // 0.999 (n - 1).
  const double position = 0.999 * (mags.size() - 1);
  const size_t below = static_cast<size_t>(position);
  const double exact = mags[below] + (position - below) * (mags[below + 1] - mags[below]);
  const double bin = mags.back() / 2048;
  EXPECT_NEAR(r.stats.clip_max[0], exact, bin);
  EXPECT_EQ(r.params.scales[0], r.stats.clip_max[0] / 127.0f);
}

TEST(CalibrateTest, OnePassHistogramsEqualBinningEverythingAtTheFinalRange) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  CalibrateOptions o;
  o.method = RangeMethod::kPercentile;
  o.dtype = DType::kInt8;
  o.num_bins = 64;
  auto c = Calibrator::Create(o);
  std::vector<float> all;
  for (int b = 0; b < 10; ++b) {
    std::vector<float> v(5000);
    for (float& x : v) x = normal(rng) * static_cast<float>(b % 3 == 0 ? 1 : b + 1);
    all.insert(all.end(), v.begin(), v.end());
    ASSERT_TRUE(c->AddBatch(Float32Tensor({5000}, v).view(), b, {}).ok());
  }
  const CalibrationHistogram& got = c->state().histograms[0];
  FineHistogram want(static_cast<int64_t>(got.counts.size()));
  float amax = 0;
  for (float x : all) amax = std::max(amax, std::fabs(x));
  want.Cover(amax);
  for (float x : all) want.Add(want.BinOf(x), 1);
  EXPECT_EQ(got.range_exponent, want.range_exponent());
  EXPECT_EQ(got.counts, want.counts());
}

TEST(CalibrateTest, MovingAverageFollowsTorchsUpdate) {
  const auto a = Float32Tensor({2}, {-1.0f, 1.0f});
  const auto b = Float32Tensor({2}, {-3.0f, 5.0f});
  CalibrateOptions o;
  o.method = RangeMethod::kMovingAverageMinMax;
  o.dtype = DType::kUInt8;
  o.averaging_constant = 0.5;
  CalibrationState state;
  Calibrate(o, {&a, &b, &b}, {}, &state);
  // min: -1 -> -1 + 0.5 (-3 + 1) = -2 -> -2.5; max: 1 -> 3 -> 4.
  EXPECT_EQ(state.observed_min, std::vector<float>{-2.5f});
  EXPECT_EQ(state.observed_max, std::vector<float>{4.0f});
  auto c = Calibrator::Create(o);
  EXPECT_THAT(c->Merge(state, 0).message(), HasSubstr("cannot be merged"));
}

TEST(CalibrateTest, BadBatchesAreNamed) {
  CalibrateOptions o;
  o.dtype = DType::kInt8;
  o.granularity = Granularity::kPerChannel;
  o.axis = 1;
  auto c = Calibrator::Create(o);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->AddBatch(Float32Tensor({2, 3}, {1, 2, 3, 4, 5, 6}).view(), 0, {}).ok());
  EXPECT_THAT(c->AddBatch(Float32Tensor({2, 4}, std::vector<float>(8, 1)).view(), 1, {}).message(),
              HasSubstr("batch 1: it has parameter slots [4] (PER_CHANNEL), but the calibration so far has [3]"));
  EXPECT_THAT(c->AddBatch(Float32Tensor({1, 3}, {1, NAN, 3}).view(), 2, {}).message(),
              HasSubstr("batch 2: batch.data[1] = nan"));
  const OwnedTensor ints = testing::MakeTensor(DType::kInt8, {3}, std::vector<int8_t>{1, 2, 3});
  EXPECT_THAT(c->AddBatch(ints.view(), 3, {}).message(), HasSubstr("batch 3: batch.dtype INT8"));
  // The good batch survives the bad ones.
  EXPECT_EQ(c->Finish()->stats.values_seen, 6);
}

TEST(CalibrateTest, OptionsAreChecked) {
  CalibrateOptions o;
  o.dtype = DType::kInt8;
  o.method = RangeMethod::kKMeans;
  EXPECT_THAT(Calibrator::Create(o).status().message(), HasSubstr("not a calibration method"));
  o.method = RangeMethod::kMinMax;
  o.num_bins = 8;
  EXPECT_THAT(Calibrator::Create(o).status().message(), HasSubstr("options.num_bins = 8"));
  o.num_bins = 0;
  o.dtype = DType::kLut4;
  EXPECT_THAT(Calibrator::Create(o).status().message(), HasSubstr("needs a codebook"));
  o.dtype = DType::kInt8;
  auto c = Calibrator::Create(o);
  EXPECT_THAT(c->Finish().status().message(), HasSubstr("saw no values"));
  CalibrateOptions other = o;
  other.method = RangeMethod::kEntropy;
  auto d = Calibrator::Create(other);
  ASSERT_TRUE(d->AddBatch(Float32Tensor({2}, {1, 2}).view(), 0, {}).ok());
  EXPECT_THAT(c->Merge(d->state(), 0).message(), HasSubstr("options.merge[0] was made with method ENTROPY"));
}

TEST(CalibrateTest, ResultsDoNotDependOnThePool) {
  const auto batches = Batches(3, 64, 1024, 5);
  CalibrateOptions o;
  o.method = RangeMethod::kEntropy;
  o.dtype = DType::kInt8;
  KernelPool pool(2, 64);
  ExecutionContext parallel;
  parallel.pool = &pool;
  auto a = Calibrator::Create(o), b = Calibrator::Create(o);
  for (size_t i = 0; i < batches.size(); ++i) {
    ASSERT_TRUE(a->AddBatch(batches[i].view(), i, {}).ok());
    ASSERT_TRUE(b->AddBatch(batches[i].view(), i, parallel).ok());
  }
  EXPECT_EQ(a->Finish()->params, b->Finish()->params);
  EXPECT_EQ(a->state().histograms[0].counts, b->state().histograms[0].counts);
}

}  // namespace
}  // namespace quantd
