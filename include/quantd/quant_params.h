// Quantization parameters: everything needed to invert a quantization, and
// the enums that describe a scheme.
#ifndef QUANTD_QUANT_PARAMS_H_
#define QUANTD_QUANT_PARAMS_H_

#include <cstdint>
#include "absl/strings/string_view.h"
#include <vector>

#include "quantd/dtype.h"

namespace quantd {

// Enum numbers equal those on the wire (quantd.v1).
enum class Scheme : int32_t { kUnspecified = 0, kSymmetric = 1, kAsymmetric = 2 };
inline constexpr int32_t kMaxSchemeNumber = 2;

enum class Granularity : int32_t {
  kUnspecified = 0,
  kPerTensor = 1,
  kPerChannel = 2,
  kPerGroup = 3,
};
inline constexpr int32_t kMaxGranularityNumber = 3;

enum class Rounding : int32_t {
  kUnspecified = 0,
  kHalfToEven = 1,
  kHalfAwayFromZero = 2,
  kFloor = 3,
  kStochastic = 4,
};
inline constexpr int32_t kMaxRoundingNumber = 4;

enum class RangeMethod : int32_t {
  kUnspecified = 0,
  kMinMax = 1,
  kAbsMax = 2,
  kAbsMean = 3,
  kPercentile = 4,
  kEntropy = 5,
  kMse = 6,
  kKMeans = 7,
  kLog2 = 8,
  kMovingAverageMinMax = 9,
};
inline constexpr int32_t kMaxRangeMethodNumber = 9;

absl::string_view SchemeName(Scheme scheme);
absl::string_view GranularityName(Granularity granularity);
absl::string_view RoundingName(Rounding rounding);
absl::string_view RangeMethodName(RangeMethod method);

struct QuantParams {
  DType dtype = DType::kUnspecified;
  Scheme scheme = Scheme::kUnspecified;
  Granularity granularity = Granularity::kUnspecified;
  int32_t axis = 0;
  int32_t group_size = 0;
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  bool full_range = false;
  DType scale_dtype = DType::kUnspecified;
  std::vector<float> codebook;

  bool operator==(const QuantParams&) const = default;
};

}  // namespace quantd

#endif  // QUANTD_QUANT_PARAMS_H_
