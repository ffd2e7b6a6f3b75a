"""What the calls return: plain objects over the response messages."""

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple, Optional

from . import enums, packing
from .params import QuantParams
from .stats import CalibrationStats, ErrorStats
from .tensors import from_proto


class QuantizeResult:
    """One Quantize answer.

    codes        the quantized tensor, one numpy element per value (unpacked
                 on first use; see quantd_client.packing for the types)
    packed       the wire bytes of the codes (sub-byte types packed), what
                 to store
    dtype, shape the codes' dtype name ("int4") and shape
    params       QuantParams: with the codes, everything Dequantize needs
    error        ErrorStats of x against x'
    dequantized  x' in the input's type (numpy or torch, same dtype and
                 device), when return_dequantized was asked; else None
    budget_met   False only when dtype="auto" found no format meeting every
                 bound (it then returns the highest-SQNR one)
    """

    def __init__(self, response, like):
        self.packed = response.output.data
        self.dtype = enums.to_name(enums.DType, response.output.dtype)
        self.shape = tuple(int(d) for d in response.output.shape)
        self.params = QuantParams.from_proto(response.params)
        self.error = ErrorStats.from_proto(response.error)
        self.budget_met = response.budget_met
        self.dequantized = None
        if response.HasField("dequantized"):
            self.dequantized = from_proto(response.dequantized, like)
        self.like = like  # What dequantizing these codes should return.
        self._output = response.output

    @cached_property
    def codes(self):
        return packing.unpack(self.packed, self._output.dtype, self.shape)

    def tensor_proto(self):
        """The codes as the Tensor message Dequantize takes."""
        return self._output

    def __repr__(self):
        return "QuantizeResult(dtype=%r, shape=%r, sqnr_db=%.2f, params=%r)" % (
            self.dtype, self.shape, self.error.sqnr_db, self.params)


@dataclass(frozen=True, eq=False)
class CalibrateResult:
    """One Calibrate answer. `params` feeds quantize(params=...); `state`
    (the CalibrationState message; `state_bytes` to store it) feeds another
    calibrate(merge=[...]) unchanged."""
    params: QuantParams
    stats: CalibrationStats
    state: object = field(repr=False)

    @classmethod
    def from_proto(cls, response):
        return cls(params=QuantParams.from_proto(response.params),
                   stats=CalibrationStats.from_proto(response.stats), state=response.state)

    @property
    def state_bytes(self):
        return self.state.SerializeToString()


@dataclass(frozen=True)
class AnalyzeRow:
    """One candidate format: `options` are quantize keywords (so
    client.quantize(x, **row.options) gives this row's result), its
    `bits_per_element` (scales and zero points included), its `error`, and
    whether it is on the bits-versus-SQNR Pareto front."""
    options: dict
    bits_per_element: float
    error: ErrorStats
    pareto: bool


@dataclass(frozen=True)
class MatMulStats:
    """How many feature columns of a ran in float (LLM.int8()), and the
    error against the float product when compute_reference_error was asked
    (else None)."""
    outlier_columns: int
    error: Optional[ErrorStats]

    @classmethod
    def from_proto(cls, message):
        error = ErrorStats.from_proto(message.error) if message.HasField("error") else None
        return cls(outlier_columns=message.outlier_columns, error=error)


class MatMulResult(NamedTuple):
    """One QuantizedMatMul answer: `y, stats = client.matmul(a, b)`."""
    output: object
    stats: MatMulStats
