"""QuantizeOptions and CalibrateOptions from Python keywords, and back.

The keywords are the proto's field names with enum values as names, so that
the options of an Analyze row read back as the very keywords `quantize`
takes (`client.quantize(x, **row.options)` reproduces the row).
"""

from . import enums
from ._stubs import pb
from .params import params_proto
from .stats import budget_proto

# Keyword -> enum type, for the enum fields of QuantizeOptions.
_QUANTIZE_ENUMS = {
    "dtype": enums.DType, "scheme": enums.Scheme, "granularity": enums.Granularity,
    "scale_dtype": enums.DType, "range_method": enums.RangeMethod, "rounding": enums.Rounding,
}
_QUANTIZE_SCALARS = ("axis", "group_size", "full_range", "percentile", "seed")
_QUANTIZE_OPTIONAL = ("clip_min", "clip_max")
QUANTIZE_KEYWORDS = tuple(_QUANTIZE_ENUMS) + _QUANTIZE_SCALARS + _QUANTIZE_OPTIONAL


def quantize_options(dtype="int8", *, scheme=None, granularity=None, axis=0, group_size=0,
                     full_range=False, scale_dtype=None, range_method=None, percentile=0.0,
                     clip_min=None, clip_max=None, rounding=None, seed=0, params=None,
                     max_error=None, return_dequantized=False):
    """A QuantizeOptions message (see Client.quantize for the keywords)."""
    options = pb.QuantizeOptions(axis=axis, group_size=group_size, full_range=full_range,
                                 percentile=percentile, seed=seed,
                                 return_dequantized=return_dequantized)
    values = dict(dtype=dtype, scheme=scheme, granularity=granularity, scale_dtype=scale_dtype,
                  range_method=range_method, rounding=rounding)
    for name, enum in _QUANTIZE_ENUMS.items():
        setattr(options, name, enums.to_number(enum, values[name], name))
    if clip_min is not None:
        options.clip_min = clip_min
    if clip_max is not None:
        options.clip_max = clip_max
    if params is not None:
        options.params.CopyFrom(params_proto(params))
    if max_error is not None:
        options.max_error.CopyFrom(budget_proto(max_error))
    return options


def candidate_options(candidate):
    """One Analyze candidate: a dict of quantize keywords or a message."""
    if isinstance(candidate, pb.QuantizeOptions):
        return candidate
    if isinstance(candidate, dict):
        unknown = set(candidate) - set(QUANTIZE_KEYWORDS)
        if unknown:
            raise TypeError("unknown candidate option(s) %s; known: %s" % (
                ", ".join(sorted(unknown)), ", ".join(QUANTIZE_KEYWORDS)))
        return quantize_options(**candidate)
    raise TypeError("a candidate must be a dict of quantize keywords or a quantd.v1.QuantizeOptions "
                    "message, not %s" % type(candidate).__name__)


def options_keywords(options):
    """The quantize keywords of a QuantizeOptions message (the target and
    range fields; unspecified enums as None)."""
    keywords = {name: enums.to_name(enum, getattr(options, name)) for name, enum in _QUANTIZE_ENUMS.items()}
    keywords.update({name: getattr(options, name) for name in _QUANTIZE_SCALARS})
    keywords.update({name: getattr(options, name) if options.HasField(name) else None
                     for name in _QUANTIZE_OPTIONAL})
    return keywords


def calibrate_options(method="minmax", dtype="int8", *, scheme=None, granularity=None, axis=0,
                      group_size=0, full_range=False, scale_dtype=None, num_bins=0, percentile=0.0,
                      averaging_constant=0.0, merge=()):
    """A CalibrateOptions message (see Client.calibrate for the keywords)."""
    options = pb.CalibrateOptions(
        method=enums.to_number(enums.RangeMethod, method, "method"),
        dtype=enums.to_number(enums.DType, dtype, "dtype"),
        scheme=enums.to_number(enums.Scheme, scheme, "scheme"),
        granularity=enums.to_number(enums.Granularity, granularity, "granularity"),
        axis=axis, group_size=group_size, full_range=full_range,
        scale_dtype=enums.to_number(enums.DType, scale_dtype, "scale_dtype"),
        num_bins=num_bins, percentile=percentile, averaging_constant=averaging_constant)
    options.merge.extend(state_proto(s) for s in merge)
    return options


def state_proto(state):
    """A CalibrationState message from a message, its serialized bytes, or a
    CalibrateResult."""
    if isinstance(state, pb.CalibrationState):
        return state
    if isinstance(state, (bytes, bytearray, memoryview)):
        message = pb.CalibrationState()
        message.ParseFromString(bytes(state))
        return message
    inner = getattr(state, "state", None)
    if isinstance(inner, pb.CalibrationState):
        return inner
    raise TypeError("a state to merge must be a quantd.v1.CalibrationState, its bytes or a "
                    "CalibrateResult, not %s" % type(state).__name__)
