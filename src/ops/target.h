// Resolving and checking a quantization target (dtype, scheme, granularity,
// axis, ...) against a tensor's shape: the checks that Quantize options,
// explicit parameters and Dequantize parameters share.
#ifndef QUANTD_OPS_TARGET_H_
#define QUANTD_OPS_TARGET_H_

#include <cstdint>
#include <span>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "quantd/layout.h"
#include "quantd/quant_params.h"

namespace quantd {

// A target with every default applied: params has dtype, scheme,
// granularity, a non-negative axis, full_range and scale_dtype set; its
// scales and zero points are empty.
struct ResolvedTarget {
  QuantParams params;
  ChannelLayout layout;
  int32_t qmin = 0;
  int32_t qmax = 0;
};

// `spec` carries the target fields (its scales and zero points are not
// read). `field` prefixes names in messages, e.g. "options." or "params.".
absl::StatusOr<ResolvedTarget> ResolveTarget(const QuantParams& spec,
                                             std::span<const int64_t> shape,
                                             int64_t count,
                                             absl::string_view field);

// Checks explicit scales and zero points against a resolved target: the
// count per granularity, scales finite and >= FLT_MIN, zero points inside
// [qmin, qmax] for ASYMMETRIC and absent for SYMMETRIC.
absl::Status CheckScalesAndZeroPoints(const QuantParams& given,
                                      const ResolvedTarget& target,
                                      absl::string_view field);

}  // namespace quantd

#endif  // QUANTD_OPS_TARGET_H_
