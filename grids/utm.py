"""UTM zone arithmetic shared by grids 0, 1 and 2 (grids-and-cost.md §2.3)."""

from __future__ import annotations

import math

ZONE_COUNT = 60
ZONE_WIDTH_DEG = 6.0
#: Eastings of the west edges of the MGRS 100 km squares used in a zone: 100 km ... 800 km.
FIRST_SQUARE_INDEX = 1
LAST_SQUARE_INDEX = 8
#: False northing of the southern hemisphere, in 100 km squares (10,000 km).
SOUTH_FALSE_NORTHING_SQUARES = 100


def zone_longitudes(zone: int) -> tuple[float, float]:
    """West and east longitude of the regular 6° strip of ``zone`` (no Norway/Svalbard exceptions)."""
    _check_zone(zone)
    west = ZONE_WIDTH_DEG * (zone - 1) - 180.0
    return west, west + ZONE_WIDTH_DEG


def zones_for_longitudes(west: float, east: float) -> range:
    """Zones whose strips intersect the longitude interval [west, east] (degrees, -180..180)."""
    first = math.floor((west + 180.0) / ZONE_WIDTH_DEG) + 1
    last = math.floor((east + 180.0) / ZONE_WIDTH_DEG) + 1
    return range(max(first, 1), min(last, ZONE_COUNT) + 1)


def utm_epsg(zone: int, north: bool) -> int:
    """EPSG code of WGS84 / UTM ``zone`` (326zz north, 327zz south)."""
    _check_zone(zone)
    return (32600 if north else 32700) + zone


def cells_per_square(tile_size_m: float) -> int:
    """Cells per side of a 100 km square: ceil(100000 / W)."""
    return math.ceil(100_000 / tile_size_m)


def _check_zone(zone: int) -> None:
    if not 1 <= zone <= ZONE_COUNT:
        raise ValueError(f"UTM zone {zone} outside 1..{ZONE_COUNT}")
