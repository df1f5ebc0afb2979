"""AOI × grid → the list of Tile objects (entry point of the analysis)."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral

import numpy as np
from shapely.geometry.base import BaseGeometry

from grids import Grid, get_grid
from tiler.aoi import AOI
from tiler.cells import PendingBatch, PendingBatches
from tiler.errors import BOUNDS_FIELD, AOIError, TileLimitError
from tiler.laea import laea_cell_batches, laea_coverage
from tiler.tile import Tile
from tiler.utm import utm_cell_batches
from tiler.wgs84 import wgs84_cell_batches

#: Largest buffer accepted (bufferX/bufferY are int16).
MAX_BUFFER = 2**15 - 1

_CELL_FINDERS: dict[str, Callable[[BaseGeometry, Grid], PendingBatches]] = {
    "UTM": utm_cell_batches,
    "WGS84": wgs84_cell_batches,
    "LAEA": laea_cell_batches,
}


def tiles_for_aoi(aoi: AOI, grid_id: int, resolution: float, buffer_x: int = 0, buffer_y: int = 0,
                  max_tiles: int | None = None) -> list[Tile]:
    """Every cell of grid ``grid_id`` whose interior meets the AOI, each once, sorted by id.

    Raises UnknownGridError, ValueError (resolution or buffers), TileLimitError (more than
    ``max_tiles``) and AOIError (the AOI yields no tile: outside the grid's coverage).
    """
    grid = get_grid(grid_id)
    allowed = _allowed_resolution(grid, resolution)
    for name, value in (("bufferX", buffer_x), ("bufferY", buffer_y)):
        if isinstance(value, bool) or not isinstance(value, Integral) or not 0 <= value <= MAX_BUFFER:
            raise ValueError(f"{name} must be an integer between 0 and {MAX_BUFFER}, got {value!r}")
    pending = _select(aoi, grid, max_tiles)
    batches = [item.build() for item in pending]
    pixels = grid.pixels(allowed)
    tiles = [
        Tile(tile_id, name, batch.epsg, (x, y), allowed, pixels, pixels, int(buffer_x), int(buffer_y),
             footprint)
        for batch in batches
        for tile_id, name, x, y, footprint in zip(
            batch.ids.tolist(), batch.names, batch.x_ul.tolist(), batch.y_ul.tolist(),
            batch.footprints.tolist(), strict=True)
    ]
    order = np.argsort(np.concatenate([b.ids for b in batches]), kind="stable")
    return [tiles[i] for i in order.tolist()]


def count_tiles(aoi: AOI, grid_id: int, resolution: float, max_tiles: int | None = None) -> int:
    """``len(tiles_for_aoi(...))`` without building the tiles (names, footprints); same errors."""
    grid = get_grid(grid_id)
    _allowed_resolution(grid, resolution)
    return sum(item.count for item in _select(aoi, grid, max_tiles))


def _allowed_resolution(grid: Grid, resolution: float) -> float:
    grid.check_resolution(resolution)
    allowed = grid.allowed_resolution(resolution)
    assert allowed is not None
    return allowed


def _select(aoi: AOI, grid: Grid, max_tiles: int | None) -> list[PendingBatch]:
    """Selected cells per CRS; raises TileLimitError as soon as the count passes ``max_tiles``."""
    pending: list[PendingBatch] = []
    count = 0
    for item in _CELL_FINDERS[grid.crs_kind](aoi.geometry, grid):
        pending.append(item)
        count += item.count
        if max_tiles is not None and count > max_tiles:
            raise TileLimitError(count, max_tiles, grid.id)
    if count == 0:
        raise AOIError(BOUNDS_FIELD, f"the AOI lies outside the coverage of grid {grid.id} "
                                     f"({_coverage_text(grid)}); no tile to process")
    return pending


def _coverage_text(grid: Grid) -> str:
    if grid.crs_kind == "LAEA":
        west, south, east, north = laea_coverage()
        return f"{grid.coverage}: longitudes {west}° to {east}°, latitudes {south}° to {north}°"
    return grid.coverage
