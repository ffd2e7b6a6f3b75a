// Wire names of the quantization enums, for messages and metric labels.
#include "quantd/quant_params.h"

namespace quantd {

absl::string_view SchemeName(Scheme scheme) {
  switch (scheme) {
    case Scheme::kUnspecified: return "UNSPECIFIED";
    case Scheme::kSymmetric: return "SYMMETRIC";
    case Scheme::kAsymmetric: return "ASYMMETRIC";
  }
  return "UNKNOWN";
}

absl::string_view GranularityName(Granularity granularity) {
  switch (granularity) {
    case Granularity::kUnspecified: return "UNSPECIFIED";
    case Granularity::kPerTensor: return "PER_TENSOR";
    case Granularity::kPerChannel: return "PER_CHANNEL";
    case Granularity::kPerGroup: return "PER_GROUP";
  }
  return "UNKNOWN";
}

absl::string_view RoundingName(Rounding rounding) {
  switch (rounding) {
    case Rounding::kUnspecified: return "UNSPECIFIED";
    case Rounding::kHalfToEven: return "HALF_TO_EVEN";
    case Rounding::kHalfAwayFromZero: return "HALF_AWAY_FROM_ZERO";
    case Rounding::kFloor: return "FLOOR";
    case Rounding::kStochastic: return "STOCHASTIC";
  }
  return "UNKNOWN";
}

absl::string_view RangeMethodName(RangeMethod method) {
  switch (method) {
    case RangeMethod::kUnspecified: return "UNSPECIFIED";
    case RangeMethod::kMinMax: return "MINMAX";
    case RangeMethod::kAbsMax: return "ABSMAX";
    case RangeMethod::kAbsMean: return "ABSMEAN";
    case RangeMethod::kPercentile: return "PERCENTILE";
    case RangeMethod::kEntropy: return "ENTROPY";
    case RangeMethod::kMse: return "MSE";
    case RangeMethod::kKMeans: return "KMEANS";
    case RangeMethod::kLog2: return "LOG2";
    case RangeMethod::kMovingAverageMinMax: return "MOVING_AVERAGE_MINMAX";
  }
  return "UNKNOWN";
}

}  // namespace quantd
