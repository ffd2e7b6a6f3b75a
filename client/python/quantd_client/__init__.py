"""quantd_client: a Python client for the quantd quantization service.

    from quantd_client import Client
    with Client("127.0.0.1:50051") as client:
        q = client.quantize(weight, "int4", granularity="per_group", axis=-1, group_size=64)
        print(q.error.sqnr_db)
        weight2 = client.dequantize(q)
        y, stats = client.matmul(x, weight, transpose_b=True)

It needs the gRPC stubs the quantd build generates: PYTHONPATH=build/python:client/python.
"""

from . import packing
from .client import DEFAULT_MAX_MESSAGE_BYTES, LIVENESS, READINESS, Client
from .enums import DType, Granularity, RangeMethod, Rounding, Scheme
from .errors import QuantdError
from .packing import pack, unpack
from .params import QuantParams
from .results import AnalyzeRow, CalibrateResult, MatMulResult, MatMulStats, QuantizeResult
from .stats import CalibrationStats, ErrorBudget, ErrorStats

__all__ = [
    "Client", "QuantdError", "QuantizeResult", "CalibrateResult", "AnalyzeRow", "MatMulResult",
    "MatMulStats", "QuantParams",
    "ErrorStats", "ErrorBudget", "CalibrationStats", "DType", "Scheme", "Granularity", "Rounding",
    "RangeMethod", "pack", "unpack", "packing", "READINESS", "LIVENESS", "DEFAULT_MAX_MESSAGE_BYTES",
]
