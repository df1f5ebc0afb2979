"""Processing units (PU), grids-and-cost.md §3: pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

from tiler.tile import Tile

#: One PU covers a 512 × 512 px output.
PU_REFERENCE_PIXELS = 512 * 512
MIN_AREA_FACTOR = 0.01
#: One PU covers 3 input bands.
PU_REFERENCE_BANDS = 3
DATA_MASK_BAND = "dataMask"
FLOAT32_SAMPLE_TYPE = "FLOAT32"
FLOAT32_FORMAT_FACTOR = 2.0
#: Upstream's estimate assumes one sample every 3 days for ORBIT/TILE mosaicking.
DAYS_PER_ESTIMATED_SAMPLE = 3
SIMPLE_MOSAICKING = "SIMPLE"
REMOTE_COLLECTION_WEIGHT = 2
#: Batch rules: minimum billed per request and the discount for tiles above 10,000 px.
MIN_BILLED_PU = 100.0
BATCH_DISCOUNT = 1 / 3
DISCOUNT_MIN_PIXELS = 10_000
_SECONDS_PER_DAY = 86_400


def area_factor(width_px: int, height_px: int) -> float:
    """``width·height / 512²``, at least 0.01."""
    return max(width_px * height_px / PU_REFERENCE_PIXELS, MIN_AREA_FACTOR)


def band_factor(bands: Sequence[str]) -> float:
    """``n / 3`` where ``dataMask`` is not counted unless it is the only band.

    ``bands`` lists the input bands of all datasources (a band used by two datasources counts twice).
    """
    counted = sum(1 for band in bands if band != DATA_MASK_BAND)
    if counted == 0:
        if not bands:
            raise ValueError("an evalscript must request at least one input band")
        counted = 1
    return counted / PU_REFERENCE_BANDS


def format_factor(sample_types: Iterable[str]) -> float:
    """×2 when any output is 32-bit float, else ×1."""
    return FLOAT32_FORMAT_FACTOR if any(t == FLOAT32_SAMPLE_TYPE for t in sample_types) else 1.0


def fusion_factor(n_collections: int = 1, n_remote_collections: int = 0) -> float:
    """Data fusion: ×1 for one collection, else ``local + 2·remote`` (``n_collections`` counts both)."""
    if n_collections < 1 or not 0 <= n_remote_collections <= n_collections:
        raise ValueError(f"invalid collection counts {n_collections}, {n_remote_collections} remote")
    if n_collections == 1:
        return 1.0
    local = n_collections - n_remote_collections
    return float(local + REMOTE_COLLECTION_WEIGHT * n_remote_collections)


def tile_pu(tile: Tile, bands: Sequence[str], sample_types: Iterable[str], samples: int,
            n_collections: int = 1, n_remote_collections: int = 0) -> float:
    """PU of one tile (buffered raster), without the batch discount: the v1 tile ``cost``."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    return (area_factor(tile.raster_width, tile.raster_height) * band_factor(bands)
            * format_factor(sample_types) * samples
            * fusion_factor(n_collections, n_remote_collections))


def upstream_samples(mosaicking: str, time_from: datetime | str, time_to: datetime | str) -> int:
    """Samples per pixel assumed by upstream: 1 for SIMPLE, else one per 3 days (at least 1)."""
    if mosaicking.upper() == SIMPLE_MOSAICKING:
        return 1
    start, end = _as_datetime(time_from), _as_datetime(time_to)
    if end < start:
        raise ValueError(f"time range ends before it starts: {time_from} > {time_to}")
    days = (end - start).total_seconds() / _SECONDS_PER_DAY
    return max(1, math.floor(days / DAYS_PER_ESTIMATED_SAMPLE))


def value_estimate(tiles: Iterable[Tile], bands: Sequence[str], sample_types: Sequence[str],
                   mosaicking: str, time_from: datetime | str, time_to: datetime | str,
                   n_collections: int = 1, n_remote_collections: int = 0) -> float:
    """v1 ``valueEstimate``: Σ tile PU with upstream's sample rule, no batch discount."""
    samples = upstream_samples(mosaicking, time_from, time_to)
    return sum(tile_pu(t, bands, sample_types, samples, n_collections, n_remote_collections)
               for t in tiles)


def billed_pu(tile_pus: Iterable[float], tile_pixels: Iterable[int] | None = None) -> float:
    """PU charged for a request: Σ PU × 1/3 (tiles over 10,000 px), at least 100.

    Without ``tile_pixels`` every tile is discounted (all predefined-grid tiles exceed 10,000 px).
    """
    pus = list(tile_pus)
    if tile_pixels is None:
        total = sum(pus) * BATCH_DISCOUNT
    else:
        pixels = list(tile_pixels)
        if len(pixels) != len(pus):
            raise ValueError("tile_pus and tile_pixels differ in length")
        total = sum(pu * (BATCH_DISCOUNT if px > DISCOUNT_MIN_PIXELS else 1.0)
                    for pu, px in zip(pus, pixels, strict=True))
    return max(MIN_BILLED_PU, total)


def _as_datetime(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
