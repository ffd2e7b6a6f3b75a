// What the SIMD kernel tests share: the kernel tables to test (skipped where
// the build or the CPU lacks them), float bytes at an offset, and the
// comparison of error sums.
#ifndef QUANTD_TESTS_UNIT_SIMD_KERNEL_TEST_UTIL_H_
#define QUANTD_TESTS_UNIT_SIMD_KERNEL_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "formats/element_io.h"
#include "kernels/kernels.h"

namespace quantd::testing {

struct SimdPath {
  std::string name;
  const KernelTable* table;
  Isa needs;
};

inline void PrintTo(const SimdPath& path, std::ostream* os) { *os << path.name; }

inline std::vector<SimdPath> SimdPaths() {
  return {{"avx2", KernelsAvx2(), Isa::kAvx2}, {"avx512", KernelsAvx512(), Isa::kAvx512}};
}

// A test over every SIMD table; paths the build or the CPU lacks are skipped.
class SimdKernelsTest : public ::testing::TestWithParam<SimdPath> {
 protected:
  void SetUp() override {
    if (GetParam().table == nullptr) GTEST_SKIP() << GetParam().name << " is not built";
    if (DetectedIsa() < GetParam().needs) GTEST_SKIP() << "this CPU lacks " << GetParam().name;
  }
  const KernelTable& simd() const { return *GetParam().table; }
  const KernelTable& reference() const { return KernelsReference(); }
};

// Bytes of `values` in `dtype`, placed `offset` bytes into the buffer.
inline std::vector<std::byte> EncodeFloats(const std::vector<float>& values, DType dtype,
                                           int offset) {
  std::vector<std::byte> bytes(offset + values.size() * DTypeBits(dtype) / 8 + 1);
  for (size_t i = 0; i < values.size(); ++i) {
    StoreFloatElement(dtype, bytes.data() + offset, i, values[i]);
  }
  return bytes;
}

// Counts, clipped counts and maxima exactly; the sums to the bound of the
// SIMD kernels' float32 stage (float32 sums of 16 products per lane, then
// double; see ErrorAccumulator): 2e-6 of a sum of squares or magnitudes,
// and of sqrt(sum x² · sum y²) for the sum of x·y, whose terms may cancel.
// An x' beyond float32 (a huge scale) makes sums infinite or NaN, whatever
// the order: then they must be the same.
inline void ExpectSumsMatch(const ErrorSums& a, const ErrorSums& b) {
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.clipped, b.clipped);
  if (std::isnan(a.max_abs_error) || std::isnan(b.max_abs_error)) {
    EXPECT_TRUE(std::isnan(a.max_abs_error) && std::isnan(b.max_abs_error));
  } else {
    EXPECT_EQ(a.max_abs_error, b.max_abs_error);
  }
  constexpr double kBound = 2e-6;
  const double xy_scale = std::sqrt(std::fabs(b.sum_sq_x) * std::fabs(b.sum_sq_y));
  for (auto [x, y, scale] : {std::tuple{a.sum_sq_x, b.sum_sq_x, std::fabs(b.sum_sq_x)},
                             {a.sum_sq_y, b.sum_sq_y, std::fabs(b.sum_sq_y)},
                             {a.sum_xy, b.sum_xy, xy_scale},
                             {a.sum_sq_error, b.sum_sq_error, std::fabs(b.sum_sq_error)},
                             {a.sum_abs_error, b.sum_abs_error, std::fabs(b.sum_abs_error)}}) {
    if (std::isnan(x) || std::isnan(y)) {
      EXPECT_TRUE(std::isnan(x) && std::isnan(y)) << x << " " << y;
    } else if (std::isinf(x) || std::isinf(y)) {
      EXPECT_EQ(x, y);
    } else {
      EXPECT_NEAR(x, y, kBound * scale + 1e-300);
    }
  }
}

}  // namespace quantd::testing

#endif  // QUANTD_TESTS_UNIT_SIMD_KERNEL_TEST_UTIL_H_
