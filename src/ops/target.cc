// Resolution of quantization targets and the checks on them.
#include "ops/target.h"

#include <cfloat>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/enum_check.h"
#include "formats/scale_format.h"
#include "quantd/status_macros.h"

namespace quantd {
namespace {

// An empty tensor may name any axis length; parameters are sized by it, so
// the length an empty tensor may claim is bounded.
constexpr int64_t kMaxSlotsOfEmptyTensor = int64_t{1} << 16;

absl::StatusOr<const ElementFormat*> QuantizedFormat(DType dtype, absl::string_view field) {
  if (const ElementFormat* format = FindElementFormat(dtype)) return format;
  switch (dtype) {
    case DType::kUnspecified:
      return absl::InvalidArgumentError(absl::StrCat(
          field, "dtype is DTYPE_UNSPECIFIED; name the quantized type"));
    case DType::kAuto:
      return absl::InvalidArgumentError(absl::StrCat(
          field, "dtype AUTO chooses a format in Quantize; it is not a format itself"));
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, "dtype ", DTypeName(dtype), " is not a quantized type"));
  }
}

absl::StatusOr<int32_t> NormalizeAxis(int32_t axis, size_t rank, absl::string_view field) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "axis = ", axis, " is out of range for a tensor of rank ", rank,
        rank == 0 ? " (a scalar has no axes)"
                  : absl::StrCat(" (valid: ", -r, " to ", r - 1, ")")));
  }
  return axis < 0 ? static_cast<int32_t>(axis + r) : axis;
}

absl::StatusOr<DType> ResolveScaleDType(DType scale_dtype, Scheme scheme,
                                        absl::string_view field) {
  switch (scale_dtype) {
    case DType::kUnspecified:
    case DType::kFloat32:
      return DType::kFloat32;
    case DType::kFloat16:
      return DType::kFloat16;
    case DType::kE8M0:
      if (scheme == Scheme::kAsymmetric) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, "scale_dtype E8M0 holds power-of-two scales of symmetric blocks; ",
            "scheme ASYMMETRIC cannot use it"));
      }
      return DType::kE8M0;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, "scale_dtype ", DTypeName(scale_dtype),
          " cannot store scales (FLOAT32, FLOAT16 or E8M0)"));
  }
}

absl::StatusOr<SlotLayout> ResolveLayout(QuantParams* p, const QuantParams& spec,
                                         std::span<const int64_t> shape, int64_t count,
                                         absl::string_view field) {
  if (p->granularity == Granularity::kPerTensor) {
    p->axis = 0;
    p->group_size = 0;
    return SlotLayout{1, 1, count, 0};
  }
  QUANTD_ASSIGN_OR_RETURN(p->axis, NormalizeAxis(spec.axis, shape.size(), field));
  SlotLayout layout;
  for (int32_t d = 0; d < p->axis; ++d) layout.outer *= shape[d];
  layout.axis_len = shape[p->axis];
  layout.inner = 1;
  for (size_t d = p->axis + 1; d < shape.size(); ++d) layout.inner *= shape[d];
  if (p->granularity == Granularity::kPerGroup) {
    if (spec.group_size <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "group_size = ", spec.group_size, " must be positive for PER_GROUP"));
    }
    p->group_size = spec.group_size;
    layout.group_size = spec.group_size;
  } else {
    p->group_size = 0;
  }
  if (count == 0 && layout.slots() > kMaxSlotsOfEmptyTensor) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "axis ", p->axis, " has length ", layout.axis_len,
        " in a tensor without elements; an empty tensor may have at most ",
        kMaxSlotsOfEmptyTensor, " parameter slots"));
  }
  return layout;
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
  ResolvedTarget target;
  QUANTD_ASSIGN_OR_RETURN(target.format, QuantizedFormat(spec.dtype, field));
  const ElementFormat& format = *target.format;

  QuantParams& p = target.params;
  p.dtype = spec.dtype;
  const bool is_unsigned = format.kind == ElementKind::kInteger && !format.is_signed;
  p.scheme = spec.scheme != Scheme::kUnspecified ? spec.scheme
             : is_unsigned                       ? Scheme::kAsymmetric
                                                 : Scheme::kSymmetric;
  if (p.scheme == Scheme::kAsymmetric && format.symmetric_only) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "scheme ASYMMETRIC does not apply to ", DTypeName(p.dtype),
        ", which is symmetric only (no zero point)"));
  }
  p.granularity = spec.granularity == Granularity::kUnspecified ? Granularity::kPerTensor
                                                                : spec.granularity;
  p.full_range = spec.full_range;
  QUANTD_ASSIGN_OR_RETURN(p.scale_dtype, ResolveScaleDType(spec.scale_dtype, p.scheme, field));
  QUANTD_ASSIGN_OR_RETURN(target.layout, ResolveLayout(&p, spec, shape, count, field));
  if (format.kind == ElementKind::kInteger) {
    IntegerRange(format, p.scheme == Scheme::kSymmetric, p.full_range, &target.qmin,
                 &target.qmax);
  }
  return target;
}

absl::Status CheckExplicitParams(const QuantParams& given, const ResolvedTarget& target,
                                 absl::string_view field) {
  const int64_t slots = target.layout.slots();
  const QuantParams& p = target.params;
  if (static_cast<int64_t>(given.scales.size()) != slots) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "scales has ", given.scales.size(), " values, but ",
        GranularityName(p.granularity), " needs ", slots,
        p.granularity == Granularity::kPerChannel ? absl::StrCat(" (shape[", p.axis, "])")
        : p.granularity == Granularity::kPerGroup
            ? absl::StrCat(" (", target.layout.blocks(), " blocks of ", p.group_size,
                           " along axis ", p.axis, ")")
            : ""));
  }
  for (size_t c = 0; c < given.scales.size(); ++c) {
    const float s = given.scales[c];
    if (!std::isfinite(s) || s < FLT_MIN) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "scales[", c, "] = ", s,
          " is not a valid scale (it must be finite and at least FLT_MIN = ", FLT_MIN, ")"));
    }
    if (!IsScaleRepresentable(p.scale_dtype, s)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "scales[", c, "] = ", s, " is not a ", DTypeName(p.scale_dtype), " value",
          p.scale_dtype == DType::kE8M0 ? " (a power of two from 2^-126 to 2^127)" : ""));
    }
  }
  if (p.scheme == Scheme::kSymmetric && !given.zero_points.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "zero_points has ", given.zero_points.size(), " values, but SYMMETRIC takes none"));
  }
  if (p.scheme == Scheme::kAsymmetric) {
    if (static_cast<int64_t>(given.zero_points.size()) != slots) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "zero_points has ", given.zero_points.size(),
          " values, but ASYMMETRIC needs one per scale (", slots, ")"));
    }
    for (size_t c = 0; c < given.zero_points.size(); ++c) {
      const int32_t z = given.zero_points[c];
      if (z < target.qmin || z > target.qmax) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, "zero_points[", c, "] = ", z, " is outside ", DTypeName(p.dtype),
            "'s range [", target.qmin, ", ", target.qmax, "]"));
      }
    }
  }
  const bool takes_codebook = p.dtype == DType::kLut4 || p.dtype == DType::kLut8;
  if (!takes_codebook) {
    if (!given.codebook.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "codebook has ", given.codebook.size(),
          " values, but only LUT4 and LUT8 take one, not ", DTypeName(p.dtype)));
    }
    return absl::OkStatus();
  }
  const int64_t size = target.format->codebook_size;
  if (static_cast<int64_t>(given.codebook.size()) != slots * size) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, "codebook has ", given.codebook.size(), " values, but ", DTypeName(p.dtype),
        " needs ", size, " per slot, ", slots * size, " for ", slots, " slots"));
  }
  for (size_t k = 0; k < given.codebook.size(); ++k) {
    const float v = given.codebook[k];
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "codebook[", k, "] = ", v, " is not finite"));
    }
    if (k % size != 0 && v < given.codebook[k - 1]) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "codebook[", k, "] = ", v, " is below codebook[", k - 1, "] = ",
          given.codebook[k - 1], "; each slot's ", size, " levels must ascend"));
    }
  }
  return absl::OkStatus();
}

}  // namespace quantd
