// Resolving and checking a quantization target (dtype, scheme, granularity,
// axis, group size, scale dtype) against a tensor's shape: the checks that
// Quantize options, explicit parameters and Dequantize parameters share.
#ifndef QUANTD_OPS_TARGET_H_
#define QUANTD_OPS_TARGET_H_

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "formats/element_format.h"
#include "quantd/layout.h"
#include "quantd/quant_params.h"

namespace quantd {

// A target with every default applied: params has dtype, scheme,
// granularity, a non-negative axis, group_size, full_range and scale_dtype
// set; its scales, zero points and codebook are empty.
struct ResolvedTarget {
  QuantParams params;
  const ElementFormat* format = nullptr;
  SlotLayout layout;
  int32_t qmin = 0;  // Integer formats.
  int32_t qmax = 0;
};

// `spec` carries the target fields (its scales, zero points and codebook
// are not read). `field` prefixes names in messages, e.g. "options." or
// "params.".
absl::StatusOr<ResolvedTarget> ResolveTarget(const QuantParams& spec,
                                             std::span<const int64_t> shape,
                                             int64_t count,
                                             absl::string_view field);

// The target fields of QuantizeOptions or CalibrateOptions as a spec for
// ResolveTarget.
template <typename Options>
QuantParams TargetSpec(const Options& options) {
  QuantParams spec;
  spec.dtype = options.dtype;
  spec.scheme = options.scheme;
  spec.granularity = options.granularity;
  spec.axis = options.axis;
  spec.group_size = options.group_size;
  spec.full_range = options.full_range;
  spec.scale_dtype = options.scale_dtype;
  return spec;
}

// Checks explicit parameters against a resolved target: the counts per
// granularity; scales finite, >= FLT_MIN and representable in scale_dtype;
// zero points inside [qmin, qmax] for ASYMMETRIC and absent for SYMMETRIC;
// a codebook for LUT4/LUT8 only, one per slot, finite and ascending.
absl::Status CheckExplicitParams(const QuantParams& given, const ResolvedTarget& target,
                                 absl::string_view field);

}  // namespace quantd

#endif  // QUANTD_OPS_TARGET_H_
