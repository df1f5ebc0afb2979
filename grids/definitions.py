"""The predefined tiling grids (ids 0, 1, 2, 3, 6, 7) of grids-and-cost.md §1."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral
from types import MappingProxyType
from typing import Any, Literal

Unit = Literal["METRE", "DEGREE"]
CrsKind = Literal["UTM", "WGS84", "LAEA"]

#: Relative tolerance used when comparing a requested resolution with the allowed ones.
RESOLUTION_TOLERANCE = 1e-9


class UnknownGridError(ValueError):
    """Raised for a tiling-grid id that evalbatch does not serve."""

    def __init__(self, grid_id: object) -> None:
        self.grid_id = grid_id
        valid = ", ".join(str(i) for i in GRIDS)
        super().__init__(f"unknown tiling grid id {grid_id!r} (valid ids: {valid})")


@dataclass(frozen=True)
class Grid:
    """One predefined tiling grid: square tiles of ``tile_size`` grid units."""

    id: int
    name: str
    tile_size: float
    unit: Unit
    resolutions: tuple[float, ...]
    crs_kind: CrsKind
    #: Human-readable coverage, used in error messages.
    coverage: str
    #: Latitude limit (degrees, symmetric) of the UTM grids; None for the other kinds.
    max_latitude: float | None = None

    def allowed_resolution(self, resolution: float) -> float | None:
        """Return the allowed resolution equal to ``resolution`` (within float noise), else None."""
        try:
            value = float(resolution)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(value):
            return None
        for allowed in self.resolutions:
            if math.isclose(value, allowed, rel_tol=RESOLUTION_TOLERANCE):
                return allowed
        return None

    def check_resolution(self, resolution: float) -> None:
        """Raise ValueError unless ``resolution`` is one of this grid's resolutions."""
        if self.allowed_resolution(resolution) is None:
            allowed = ", ".join(str(r) for r in self.resolutions)
            shown = _format_number(resolution)
            raise ValueError(
                f"resolution {shown} is not allowed for grid {self.id} (allowed: {allowed})"
            )

    def pixels(self, resolution: float) -> int:
        """Tile side in pixels at ``resolution`` (buffer not included)."""
        self.check_resolution(resolution)
        allowed = self.allowed_resolution(resolution)
        assert allowed is not None
        return round(self.tile_size / allowed)

    def to_api(self) -> dict[str, Any]:
        """The object served by ``/tilinggrids`` (batch-api.md §4.9)."""
        return {
            "id": self.id,
            "name": self.name,
            "properties": {
                "tileWidth": float(self.tile_size),
                "tileHeight": float(self.tile_size),
                "resolutions": [float(r) for r in self.resolutions],
                "unit": self.unit,
            },
            "links": {},
        }


def _format_number(value: object) -> str:
    try:
        return str(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return repr(value)


_UTM_COVERAGE = "UTM zones 1-60, latitudes {lat}°S to {lat}°N"
_LAEA_COVERAGE = (
    "Europe: the EPSG:3035 area of use (Azores to eastern Turkey, Canary Islands to Svalbard)"
)

_GRID_LIST: tuple[Grid, ...] = (
    Grid(0, "UTM 20km grid", 20040.0, "METRE", (10.0, 20.0, 30.0, 60.0), "UTM",
         _UTM_COVERAGE.format(lat=80.7), max_latitude=80.7),
    Grid(1, "UTM 10km grid", 10000.0, "METRE", (10.0, 20.0), "UTM",
         _UTM_COVERAGE.format(lat=80.6), max_latitude=80.6),
    Grid(2, "UTM 100km grid", 100080.0, "METRE", (30.0, 60.0, 120.0, 240.0, 360.0), "UTM",
         _UTM_COVERAGE.format(lat=81.0), max_latitude=81.0),
    Grid(3, "WGS84 1 degree grid", 1.0, "DEGREE", (0.0001, 0.0002), "WGS84",
         "global, all latitudes"),
    Grid(6, "LAEA 100km grid", 100000.0, "METRE", (40.0, 50.0, 100.0), "LAEA", _LAEA_COVERAGE),
    Grid(7, "LAEA 20km grid", 20000.0, "METRE", (10.0, 20.0), "LAEA", _LAEA_COVERAGE),
)

#: All served grids by id, in id order. Id 0 is a real grid: never test grid ids for truthiness.
GRIDS: Mapping[int, Grid] = MappingProxyType({grid.id: grid for grid in _GRID_LIST})


def get_grid(grid_id: int) -> Grid:
    """Return the grid with ``grid_id``; raise UnknownGridError for any other value."""
    if isinstance(grid_id, bool) or not isinstance(grid_id, Integral) or int(grid_id) not in GRIDS:
        raise UnknownGridError(grid_id)
    return GRIDS[int(grid_id)]
