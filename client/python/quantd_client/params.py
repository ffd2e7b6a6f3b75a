"""QuantParams: everything needed to invert a quantization, as a dataclass.

Enums read as lowercase names ("int8", "per_group"), scales, zero points
and the codebook as numpy arrays (float32, int32, float32: the wire's own
types, so to_proto(from_proto(m)) == m exactly). The JSON form is protobuf's,
the one quantctl reads and writes (`quantctl quantize --params`), so params
files move between the Python client and the command line unchanged.
"""

from dataclasses import dataclass, field, fields

import numpy as np
from google.protobuf import json_format

from . import enums
from ._stubs import pb


def _array(values, dtype):
    array = np.array(values, dtype=dtype).reshape(-1)
    array.flags.writeable = False  # Part of a frozen value.
    return array


@dataclass(frozen=True, eq=False)
class QuantParams:
    dtype: object
    scheme: object = None
    granularity: object = None
    axis: int = 0
    group_size: int = 0
    scales: np.ndarray = field(default_factory=lambda: _array([], np.float32))
    zero_points: np.ndarray = field(default_factory=lambda: _array([], np.int32))
    full_range: bool = False
    scale_dtype: object = None
    codebook: np.ndarray = field(default_factory=lambda: _array([], np.float32))

    def __post_init__(self):
        # One spelling per value, so that equal params compare equal.
        for name, enum in (("dtype", enums.DType), ("scheme", enums.Scheme),
                           ("granularity", enums.Granularity), ("scale_dtype", enums.DType)):
            number = enums.to_number(enum, getattr(self, name), name)
            object.__setattr__(self, name, enums.to_name(enum, number))
        for name, dtype in (("scales", np.float32), ("zero_points", np.int32), ("codebook", np.float32)):
            object.__setattr__(self, name, _array(getattr(self, name), dtype))

    @classmethod
    def from_proto(cls, message):
        return cls(dtype=enums.to_name(enums.DType, message.dtype),
                   scheme=enums.to_name(enums.Scheme, message.scheme),
                   granularity=enums.to_name(enums.Granularity, message.granularity),
                   axis=message.axis, group_size=message.group_size,
                   scales=message.scales, zero_points=message.zero_points,
                   full_range=message.full_range,
                   scale_dtype=enums.to_name(enums.DType, message.scale_dtype),
                   codebook=message.codebook)

    def to_proto(self):
        return pb.QuantParams(
            dtype=enums.to_number(enums.DType, self.dtype, "dtype"),
            scheme=enums.to_number(enums.Scheme, self.scheme, "scheme"),
            granularity=enums.to_number(enums.Granularity, self.granularity, "granularity"),
            axis=self.axis, group_size=self.group_size,
            scales=self.scales.tolist(), zero_points=self.zero_points.tolist(),
            full_range=self.full_range,
            scale_dtype=enums.to_number(enums.DType, self.scale_dtype, "scale_dtype"),
            codebook=self.codebook.tolist())

    @classmethod
    def from_json(cls, text):
        """From protobuf's JSON form (a quantctl params file)."""
        return cls.from_proto(json_format.Parse(text, pb.QuantParams()))

    def to_json(self):
        return json_format.MessageToJson(self.to_proto())

    def __eq__(self, other):
        if not isinstance(other, QuantParams):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray):
                if not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None


def params_proto(params):
    """A QuantParams message from a QuantParams, a message, or anything with
    a .params (a QuantizeResult or CalibrateResult)."""
    if isinstance(params, pb.QuantParams):
        return params
    if isinstance(params, QuantParams):
        return params.to_proto()
    inner = getattr(params, "params", None)
    if isinstance(inner, (QuantParams, pb.QuantParams)):
        return params_proto(inner)
    raise TypeError("params must be a QuantParams, a quantd.v1.QuantParams message or a result "
                    "carrying .params, not %s" % type(params).__name__)
