"""Create-time checks that need the grids and the tiler: grid id, resolution, AOI size and tile count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.errors import BadPayload
from grids import UnknownGridError, get_grid
from tiler import AOIError, TileLimitError, parse_bounds, tiles_for_aoi
from tiler.errors import BOUNDS_FIELD


@dataclass(frozen=True)
class TilingSummary:
    """What the API records at create: the tile count and the tile size without buffer."""

    tile_count: int
    tile_width_px: int
    tile_height_px: int


def count_vertices(geometry: Any) -> int:
    """Number of coordinate pairs in a GeoJSON geometry (0 for anything else)."""
    if not isinstance(geometry, dict):
        return 0

    def walk(value: Any) -> int:
        if isinstance(value, list):
            if value and all(isinstance(v, (int, float)) for v in value):
                return 1
            return sum(walk(v) for v in value)
        return 0

    if geometry.get("type") == "GeometryCollection":
        return sum(count_vertices(g) for g in geometry.get("geometries") or [])
    return walk(geometry.get("coordinates"))


def summarise_tiling(
    bounds: dict[str, Any],
    grid_id: int,
    resolution: float,
    buffer_x: int,
    buffer_y: int,
    *,
    grid_field: str,
    max_tiles: int,
    max_vertices: int,
) -> TilingSummary:
    """Validate the grid, the resolution and the AOI, and count the tiles; raises BadPayload naming the field."""
    try:
        grid = get_grid(grid_id)
    except UnknownGridError as exc:
        raise BadPayload.field(f"{grid_field}.id", str(exc)) from exc
    try:
        grid.check_resolution(resolution)
    except ValueError as exc:
        raise BadPayload.field(f"{grid_field}.resolution", str(exc)) from exc
    vertices = count_vertices(bounds.get("geometry"))
    if vertices > max_vertices:
        raise BadPayload.field(
            f"{BOUNDS_FIELD}.geometry", f"{vertices} vertices, more than the limit of {max_vertices}"
        )
    try:
        aoi = parse_bounds(bounds)
        tiles = tiles_for_aoi(aoi, grid_id, resolution, buffer_x, buffer_y, max_tiles=max_tiles)
    except AOIError as exc:
        raise BadPayload.field(exc.field, exc.message) from exc
    except TileLimitError as exc:
        raise BadPayload.field(BOUNDS_FIELD, str(exc)) from exc
    pixels = grid.pixels(resolution)
    return TilingSummary(tile_count=len(tiles), tile_width_px=pixels, tile_height_px=pixels)
