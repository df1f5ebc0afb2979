"""Plain data types of the evaluator's public interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

SAMPLE_TYPE_DTYPES: dict[str, type[np.generic]] = {
    "AUTO": np.uint8,
    "UINT8": np.uint8,
    "INT8": np.int8,
    "UINT16": np.uint16,
    "INT16": np.int16,
    "FLOAT32": np.float32,
}
MOSAICKINGS = ("SIMPLE", "ORBIT", "TILE")


@dataclass(frozen=True)
class Scene:
    """One acquisition offered to a script: a date slice of ORBIT/TILE mosaicking."""

    date: datetime
    id: str = ""
    cloud_coverage: float | None = None
    tile_id: str | None = None
    orbit_id: str | None = None
    data_path: str | None = None


@dataclass(frozen=True)
class InputSpec:
    """One entry of setup().input: bands, their units, and the fusion datasource it reads."""

    bands: list[str]
    units: dict[str, str]
    datasource: str | None = None
    mosaicking: str | None = None


@dataclass(frozen=True)
class OutputSpec:
    """One entry of setup().output with its final band count."""

    id: str
    bands: int
    sample_type: str = "AUTO"
    nodata: float | None = None

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype the output is written in (AUTO -> uint8)."""
        return np.dtype(SAMPLE_TYPE_DTYPES[self.sample_type])


@dataclass
class RunResult:
    """Everything one full run of a script produced."""

    outputs: dict[str, np.ndarray]
    userdata: dict | None
    kept: list[int] | dict[str, list[int]] = field(default_factory=list)
