"""The error figures quantd reports, and the budget AUTO is given, as
dataclasses: plain attributes for the caller, to/from the proto for the wire."""

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ._stubs import pb


@dataclass(frozen=True)
class ErrorStats:
    """x against its round trip x': sqnr_db is +inf when exact."""
    count: int
    mse: float
    mean_abs_error: float
    sum_abs_error: float
    max_abs_error: float
    sqnr_db: float
    cosine_similarity: float
    clipped_count: int

    @classmethod
    def from_proto(cls, message):
        return cls(count=message.count, mse=message.mse, mean_abs_error=message.mean_abs_error,
                   sum_abs_error=message.sum_abs_error, max_abs_error=message.max_abs_error,
                   sqnr_db=message.sqnr_db, cosine_similarity=message.cosine_similarity,
                   clipped_count=message.clipped_count)


@dataclass(frozen=True)
class ErrorBudget:
    """Bounds for dtype="auto"; every bound given must hold."""
    min_sqnr_db: Optional[float] = None
    max_mse: Optional[float] = None
    max_abs_error: Optional[float] = None
    min_cosine_similarity: Optional[float] = None

    def to_proto(self):
        return pb.ErrorBudget(**{k: v for k, v in vars(self).items() if v is not None})


def budget_proto(budget):
    """An ErrorBudget message from an ErrorBudget, a dict of its fields or a
    message."""
    if isinstance(budget, pb.ErrorBudget):
        return budget
    if isinstance(budget, dict):
        budget = ErrorBudget(**budget)
    if isinstance(budget, ErrorBudget):
        return budget.to_proto()
    raise TypeError("max_error must be an ErrorBudget, a dict of its fields or a "
                    "quantd.v1.ErrorBudget message, not %s" % type(budget).__name__)


@dataclass(frozen=True, eq=False)
class CalibrationStats:
    """What a calibration saw and chose, one value per tensor, channel or
    group: the observed range and the clipping range the method picked."""
    observed_min: np.ndarray = field(repr=False)
    observed_max: np.ndarray = field(repr=False)
    clip_min: np.ndarray
    clip_max: np.ndarray
    values_seen: int
    batches_seen: int

    @classmethod
    def from_proto(cls, message):
        def array(values):
            return np.array(values, dtype=np.float32)
        return cls(observed_min=array(message.observed_min), observed_max=array(message.observed_max),
                   clip_min=array(message.clip_min), clip_max=array(message.clip_max),
                   values_seen=message.values_seen, batches_seen=message.batches_seen)
