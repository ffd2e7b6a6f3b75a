"""Enum arguments: lowercase names as users write them, proto numbers as the
wire carries them.

A name may be given in any case, with or without its enum's prefix
("int8", "INT8", "DTYPE_INT8"); a number passes through unchecked, so a
server newer than these stubs can still be asked for a value they lack (the
server answers INVALID_ARGUMENT for numbers it does not know either).
"""

from ._stubs import pb

DType = pb.DType
Scheme = pb.Scheme
Granularity = pb.Granularity
Rounding = pb.Rounding
RangeMethod = pb.RangeMethod


def _prefix(enum):
    """"DTYPE_" for DType: the zero value is <PREFIX>_UNSPECIFIED."""
    return enum.Name(0)[:-len("UNSPECIFIED")]


def _label(enum):
    return enum.DESCRIPTOR.name


def to_number(enum, value, what=None):
    """The proto number of `value` (a name, a number or None for unspecified)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise TypeError("%s must be a %s name or number, not a bool" % (what or _label(enum), _label(enum)))
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        name = value.strip().upper()
        prefix = _prefix(enum)
        if not name.startswith(prefix):
            name = prefix + name
        if name in enum.keys() and not name.endswith("_UNSPECIFIED"):
            return enum.Value(name)
        raise ValueError("%s: unknown %s %r; known: %s" % (
            what or _label(enum), _label(enum), value, ", ".join(names(enum))))
    raise TypeError("%s must be a %s name or number, not %s" % (
        what or _label(enum), _label(enum), type(value).__name__))


def to_name(enum, number):
    """The lowercase name without prefix ("int8"); None for unspecified; the
    number itself when these stubs do not know it."""
    if number == 0:
        return None
    if number not in enum.values():
        return int(number)
    return enum.Name(number)[len(_prefix(enum)):].lower()


def names(enum):
    """Every specified value's lowercase name, in proto order."""
    return [to_name(enum, number) for number in enum.values() if number != 0]
