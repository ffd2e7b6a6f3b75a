// Resolution of quantization targets and the checks on them.
#include "ops/target.h"

#include <cfloat>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/enum_check.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

// Which quantized dtypes this build can produce and read.
absl::Status CheckQuantizedDType(DType dtype, absl::string_view field) {
  switch (dtype) {
    case DType::kInt8:
    case DType::kUInt8:
      return absl::OkStatus();
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2:
    case DType::kFloat4E2M1:
    case DType::kNF4:
    case DType::kInt4:
    case DType::kUInt4:
    case DType::kTernary:
    case DType::kBinary:
    case DType::kLut4:
    case DType::kLut8:
    case DType::kFloat16:
    case DType::kBFloat16:
      return absl::UnimplementedError(absl::StrCat(
          field, "dtype ", DTypeName(dtype),
          " is not implemented yet; this server quantizes to INT8 and UINT8"));
    case DType::kAuto:
      return absl::UnimplementedError(absl::StrCat(
          field, "dtype AUTO (choosing a format by error budget) is not implemented yet"));
    case DType::kUnspecified:
      return absl::InvalidArgumentError(absl::StrCat(
          field, "dtype is DTYPE_UNSPECIFIED; name the quantized type"));
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, "dtype ", DTypeName(dtype), " is not a quantized type"));
  }
}

bool IsUnsigned(DType dtype) { return dtype == DType::kUInt8 || dtype == DType::kUInt4; }

// The integer range of a target. Symmetric signed types use the restricted
// range unless full_range; unsigned symmetric types keep zero at q = 0.
void IntegerRange(DType dtype, Scheme scheme, bool full_range, int32_t* qmin,
                  int32_t* qmax) {
  const int bits = DTypeBits(dtype);
  if (IsUnsigned(dtype)) {
    *qmin = 0;
    *qmax = (1 << bits) - 1;
    return;
  }
  *qmax = (1 << (bits - 1)) - 1;
  const bool restricted = scheme == Scheme::kSymmetric && !full_range;
  *qmin = restricted ? -*qmax : -*qmax - 1;
}

absl::StatusOr<int32_t> NormalizeAxis(int32_t axis, size_t rank,
                                      absl::string_view field) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "axis = ", axis, " is out of range for a tensor of rank ", rank,
        rank == 0 ? " (a scalar has no axes)"
                  : absl::StrCat(" (valid: ", -r, " to ", r - 1, ")")));
  }
  return axis < 0 ? static_cast<int32_t>(axis + r) : axis;
}

}  // namespace

absl::StatusOr<ResolvedTarget> ResolveTarget(const QuantParams& spec,
                                             std::span<const int64_t> shape,
                                             int64_t count,
                                             absl::string_view field) {
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(spec.dtype), kMaxDTypeNumber,
                                         absl::StrCat(field, "dtype"), "DType"));
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(spec.scheme), kMaxSchemeNumber,
                                         absl::StrCat(field, "scheme"), "Scheme"));
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(spec.granularity),
                                         kMaxGranularityNumber,
                                         absl::StrCat(field, "granularity"), "Granularity"));
  QUANTD_RETURN_IF_ERROR(CheckEnumNumber(static_cast<int32_t>(spec.scale_dtype), kMaxDTypeNumber,
                                         absl::StrCat(field, "scale_dtype"), "DType"));
  QUANTD_RETURN_IF_ERROR(CheckQuantizedDType(spec.dtype, field));

  ResolvedTarget target;
  QuantParams& p = target.params;
  p.dtype = spec.dtype;
  p.scheme = spec.scheme != Scheme::kUnspecified ? spec.scheme
             : IsUnsigned(spec.dtype)            ? Scheme::kAsymmetric
                                                 : Scheme::kSymmetric;
  p.granularity = spec.granularity == Granularity::kUnspecified ? Granularity::kPerTensor
                                                                : spec.granularity;
  p.full_range = spec.full_range;

  switch (spec.scale_dtype) {
    case DType::kUnspecified:
    case DType::kFloat32:
      p.scale_dtype = DType::kFloat32;
      break;
    case DType::kFloat16:
    case DType::kE8M0:
      return absl::UnimplementedError(absl::StrCat(
          field, "scale_dtype ", DTypeName(spec.scale_dtype),
          " is not implemented yet; scales are stored as FLOAT32"));
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, "scale_dtype ", DTypeName(spec.scale_dtype),
          " cannot store scales (FLOAT32, FLOAT16 or E8M0)"));
  }
  if (!spec.codebook.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "codebook has ", spec.codebook.size(), " values, but only LUT4 and LUT8 take one, not ",
        DTypeName(spec.dtype)));
  }

  target.layout = ChannelLayout{1, 1, count};
  switch (p.granularity) {
    case Granularity::kPerTensor:
      p.axis = 0;
      break;
    case Granularity::kPerChannel: {
      QUANTD_ASSIGN_OR_RETURN(p.axis, NormalizeAxis(spec.axis, shape.size(), field));
      int64_t outer = 1, inner = 1;
      for (int32_t d = 0; d < p.axis; ++d) outer *= shape[d];
      for (size_t d = p.axis + 1; d < shape.size(); ++d) inner *= shape[d];
      target.layout = ChannelLayout{outer, shape[p.axis], inner};
      break;
    }
    case Granularity::kPerGroup: {
      QUANTD_ASSIGN_OR_RETURN(p.axis, NormalizeAxis(spec.axis, shape.size(), field));
      if (spec.group_size <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, "group_size = ", spec.group_size, " must be positive for PER_GROUP"));
      }
      return absl::UnimplementedError(absl::StrCat(
          field, "granularity PER_GROUP is not implemented yet (PER_TENSOR and PER_CHANNEL are)"));
    }
    case Granularity::kUnspecified:
      break;
  }
  IntegerRange(p.dtype, p.scheme, p.full_range, &target.qmin, &target.qmax);
  return target;
}

absl::Status CheckScalesAndZeroPoints(const QuantParams& given,
                                      const ResolvedTarget& target,
                                      absl::string_view field) {
  const int64_t channels = target.layout.channels;
  if (static_cast<int64_t>(given.scales.size()) != channels) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "scales has ", given.scales.size(), " values, but ",
        GranularityName(target.params.granularity), " needs ", channels,
        target.params.granularity == Granularity::kPerChannel
            ? absl::StrCat(" (shape[", target.params.axis, "])")
            : ""));
  }
  for (size_t c = 0; c < given.scales.size(); ++c) {
    const float s = given.scales[c];
    if (!std::isfinite(s) || s < FLT_MIN) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "scales[", c, "] = ", s,
          " is not a valid scale (it must be finite and at least FLT_MIN = ", FLT_MIN, ")"));
    }
  }
  if (target.params.scheme == Scheme::kSymmetric) {
    if (!given.zero_points.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "zero_points has ", given.zero_points.size(),
          " values, but SYMMETRIC takes none"));
    }
    return absl::OkStatus();
  }
  if (static_cast<int64_t>(given.zero_points.size()) != channels) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "zero_points has ", given.zero_points.size(),
        " values, but ASYMMETRIC needs one per scale (", channels, ")"));
  }
  for (size_t c = 0; c < given.zero_points.size(); ++c) {
    const int32_t z = given.zero_points[c];
    if (z < target.qmin || z > target.qmax) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "zero_points[", c, "] = ", z, " is outside ", DTypeName(target.params.dtype),
          "'s range [", target.qmin, ", ", target.qmax, "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace quantd
