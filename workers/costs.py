"""Processing units of stored tiles (grids-and-cost.md §3), from the tiler's cost factors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tiler import cost


def raster_size(tile: dict[str, Any]) -> tuple[int, int]:
    """Buffered (width, height) in pixels of a stored tile."""
    width = int(tile["widthPx"]) + 2 * int(tile.get("bufferX", 0))
    height = int(tile["heightPx"]) + 2 * int(tile.get("bufferY", 0))
    return width, height


def raster_pixels(tile: dict[str, Any]) -> int:
    """Buffered pixel count of a stored tile."""
    width, height = raster_size(tile)
    return width * height


def tile_cost(tile: dict[str, Any], bands: Sequence[str], sample_types: Iterable[str], samples: int) -> float:
    """PU of a stored tile for `samples` samples per pixel, without the batch discount (v1 tile `cost`)."""
    width, height = raster_size(tile)
    return (
        cost.area_factor(width, height)
        * cost.band_factor(bands)
        * cost.format_factor(sample_types)
        * max(1, samples)
    )


def billed_share(tile: dict[str, Any], tile_pu: float) -> float:
    """What processing the tile adds to `costPU`: its PU with the batch discount where it applies."""
    discounted = raster_pixels(tile) > cost.DISCOUNT_MIN_PIXELS
    return tile_pu * (cost.BATCH_DISCOUNT if discounted else 1.0)
