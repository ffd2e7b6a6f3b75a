"""Codes on the wire and in numpy: API.md's packing, vectorised.

A tensor's codes travel as its flattened elements, first element in the
lowest bits: 4-bit types two per byte (element 2i in bits 0-3; INT4 as 4-bit
two's complement), TERNARY four per byte as 2-bit two's complement, BINARY
eight per byte (set = +1, clear = -1); a tail byte is zero-padded. Unpacked,
every element is one numpy value: INT4, TERNARY and BINARY as int8 values
(-8..7, -1..1, ±1), the other 4-bit types (UINT4, NF4, FLOAT4_E2M1, LUT4) as
uint8 codes 0..15, FP8/LUT8/E8M0 as their uint8 bits, BFLOAT16 as its uint16
bits (numpy has no bfloat16); the same convention as quantctl's .npy files.
"""

from dataclasses import dataclass

import numpy as np

from . import enums
from ._stubs import pb


@dataclass(frozen=True)
class Storage:
    """How one dtype is stored: bits per element on the wire and the numpy
    type of an unpacked element."""
    bits: int
    numpy: np.dtype
    signed: bool = False  # Sub-byte codes sign-extend (two's complement).
    binary: bool = False  # One bit: set = +1, clear = -1.


_U8 = np.dtype(np.uint8)
_I8 = np.dtype(np.int8)

_STORAGE = {
    pb.DTYPE_FLOAT32: Storage(32, np.dtype("<f4")),
    pb.DTYPE_FLOAT16: Storage(16, np.dtype("<f2")),
    pb.DTYPE_BFLOAT16: Storage(16, np.dtype("<u2")),
    pb.DTYPE_FLOAT64: Storage(64, np.dtype("<f8")),
    pb.DTYPE_INT32: Storage(32, np.dtype("<i4")),
    pb.DTYPE_INT8: Storage(8, _I8),
    pb.DTYPE_UINT8: Storage(8, _U8),
    pb.DTYPE_FLOAT8_E4M3FN: Storage(8, _U8),
    pb.DTYPE_FLOAT8_E5M2: Storage(8, _U8),
    pb.DTYPE_LUT8: Storage(8, _U8),
    pb.DTYPE_E8M0: Storage(8, _U8),
    pb.DTYPE_INT4: Storage(4, _I8, signed=True),
    pb.DTYPE_UINT4: Storage(4, _U8),
    pb.DTYPE_NF4: Storage(4, _U8),
    pb.DTYPE_FLOAT4_E2M1: Storage(4, _U8),
    pb.DTYPE_LUT4: Storage(4, _U8),
    pb.DTYPE_TERNARY: Storage(2, _I8, signed=True),
    pb.DTYPE_BINARY: Storage(1, _I8, binary=True),
}


def storage(dtype):
    """The Storage of a dtype (name or number); ValueError for AUTO and
    UNSPECIFIED, which no tensor has."""
    number = enums.to_number(enums.DType, dtype, "dtype")
    if number not in _STORAGE:
        raise ValueError("dtype %s is not the type of a tensor" % _name(number))
    return _STORAGE[number]


def packed_size(dtype, count):
    """len(data) of `count` elements: ceil(count * bits / 8)."""
    return (count * storage(dtype).bits + 7) // 8


def _name(dtype):
    return enums.to_name(enums.DType, dtype)


def _allowed_range(s):
    if s.binary:
        return -1, 1
    if s.bits == 2:
        return -1, 1  # TERNARY: 2-bit two's complement restricted to {-1, 0, +1}.
    if s.bits == 4:
        return (-8, 7) if s.signed else (0, 15)
    info = np.iinfo(s.numpy)
    return int(info.min), int(info.max)


def _checked_integers(codes, dtype, s):
    """codes flattened, after a check: ValueError names the first value
    outside the dtype's codes."""
    if codes.dtype.kind not in "iub":
        raise TypeError("codes of %s must be integers, not %s" % (_name(dtype), codes.dtype))
    lo, hi = _allowed_range(s)
    flat = codes.reshape(-1)
    bad = (flat < lo) | (flat > hi)
    if s.binary:
        bad |= flat == 0
    if bad.any():
        i = int(np.argmax(bad))
        allowed = "-1 or +1" if s.binary else "%d..%d" % (lo, hi)
        raise ValueError("element %d is %d: %s codes are %s" % (i, int(flat[i]), _name(dtype), allowed))
    return flat


def pack(codes, dtype):
    """The wire bytes of `codes` (a numpy array of unpacked codes, see the
    module docstring) as elements of `dtype`."""
    dtype = enums.to_number(enums.DType, dtype, "dtype")
    s = storage(dtype)
    codes = np.asarray(codes)
    if s.bits >= 8:
        if s.numpy.kind == "f":
            if codes.dtype.kind not in "fiub":
                raise TypeError("codes of %s must be numbers, not %s" % (_name(dtype), codes.dtype))
            return np.ascontiguousarray(codes, dtype=s.numpy).tobytes()
        return _checked_integers(codes, dtype, s).astype(s.numpy).tobytes()
    flat = _checked_integers(codes, dtype, s).astype(np.int16)
    if s.binary:
        return np.packbits(flat > 0, bitorder="little").tobytes()
    per_byte = 8 // s.bits
    fields = (flat & ((1 << s.bits) - 1)).astype(np.uint8)
    fields = np.concatenate([fields, np.zeros(-len(fields) % per_byte, np.uint8)]).reshape(-1, per_byte)
    shifts = np.arange(per_byte, dtype=np.uint8) * s.bits
    return np.bitwise_or.reduce(fields << shifts, axis=1).astype(np.uint8).tobytes()


def unpack(data, dtype, shape):
    """The codes of a tensor of `dtype` and `shape` from its wire bytes, one
    numpy element per value (a fresh, writable array)."""
    dtype = enums.to_number(enums.DType, dtype, "dtype")
    s = storage(dtype)
    shape = tuple(int(d) for d in shape)
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) != packed_size(dtype, count):
        raise ValueError("%d bytes of %s cannot hold shape %s: it needs %d" % (
            len(data), _name(dtype), list(shape), packed_size(dtype, count)))
    raw = np.frombuffer(data, np.uint8 if s.bits < 8 else s.numpy)
    if s.bits >= 8:
        return raw.reshape(shape).copy()
    if s.binary:
        bits = np.unpackbits(raw, count=count, bitorder="little")
        return (bits.astype(np.int8) * 2 - 1).reshape(shape)
    per_byte = 8 // s.bits
    shifts = np.arange(per_byte, dtype=np.uint8) * s.bits
    fields = ((raw[:, None] >> shifts) & ((1 << s.bits) - 1)).reshape(-1)[:count]
    if s.signed:
        fields = fields.astype(np.int8)
        fields[fields >= 1 << (s.bits - 1)] -= 1 << s.bits
    return fields.astype(s.numpy, copy=False).reshape(shape)
