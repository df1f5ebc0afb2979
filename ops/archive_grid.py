"""The Sentinel-2 tiling grid: MGRS 100 km squares widened to 109.8 km tiles, named like ``32TQS``.

A tile's upper-left corner is the north-west corner of its MGRS square snapped to the 60 m lattice of the
UTM zone (western edge rounded down, northern edge rounded up, e.g. x 399960, y 5500020), and the tile reaches
109.8 km east and south, so neighbouring tiles overlap by about 10 km. A square belongs to a zone's grid
when it intersects that zone's 6° strip, which is why tiles at a zone edge also cover part of the next zone.
The Norway/Svalbard zone exceptions are not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from pyproj import Transformer
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from grids.mgrs import band_letter, square_letters

TILE_SIZE_M = 109_800
SQUARE_SIZE_M = 100_000
LATTICE_M = 60  # every native resolution (10, 20, 60 m) divides it
_MIN_LAT, _MAX_LAT = -80.0, 84.0


@dataclass(frozen=True)
class S2Tile:
    """One Sentinel-2 tile: its MGRS name and its footprint in the UTM CRS of its zone."""

    name: str
    epsg: int
    ulx: int
    uly: int

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """(minx, miny, maxx, maxy) in metres of the tile's UTM CRS."""
        return self.ulx, self.uly - TILE_SIZE_M, self.ulx + TILE_SIZE_M, self.uly

    @property
    def zone(self) -> int:
        """UTM zone number."""
        return int(self.name[:2])


def utm_epsg(zone: int, north: bool) -> int:
    """EPSG code of WGS 84 / UTM `zone` in the northern (326xx) or southern (327xx) hemisphere."""
    return (32600 if north else 32700) + zone


def utm_zone(lon: float) -> int:
    """UTM zone number (1..60) of a longitude."""
    return min(int((lon + 180.0) // 6.0) + 1, 60)


def snap_down(value: float, step: int = LATTICE_M) -> int:
    """Largest multiple of `step` <= value."""
    return math.floor(value / step) * step


def snap_up(value: float, step: int = LATTICE_M) -> int:
    """Smallest multiple of `step` >= value."""
    return math.ceil(value / step) * step


@lru_cache(maxsize=64)
def to_utm(epsg: int) -> Transformer:
    """Transformer lon/lat (WGS 84) -> UTM `epsg`."""
    return Transformer.from_crs(4326, epsg, always_xy=True)


@lru_cache(maxsize=64)
def to_lonlat(epsg: int) -> Transformer:
    """Transformer UTM `epsg` -> lon/lat (WGS 84)."""
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def lonlat_polygon(epsg: int, bounds: tuple[float, float, float, float], points: int = 21) -> Polygon:
    """The outline of a UTM rectangle in lon/lat, densified so its curved edges are followed."""
    minx, miny, maxx, maxy = bounds
    steps = [i / (points - 1) for i in range(points)]
    xs = [minx + (maxx - minx) * t for t in steps] + [maxx] * points
    ys = [miny] * points + [miny + (maxy - miny) * t for t in steps]
    xs += [maxx - (maxx - minx) * t for t in steps] + [minx] * points
    ys += [maxy] * points + [maxy - (maxy - miny) * t for t in steps]
    lons, lats = to_lonlat(epsg).transform(xs, ys)
    return Polygon(zip(lons, lats, strict=True))


def tiles_for_bbox(bbox: tuple[float, float, float, float]) -> list[S2Tile]:
    """Every Sentinel-2 tile whose 109.8 km footprint intersects the lon/lat `bbox`, sorted by name."""
    west, south, east, north = bbox
    if not (west < east and south < north and south >= _MIN_LAT and north <= _MAX_LAT):
        raise ValueError(f"bbox must be (west, south, east, north) within latitudes -80..84, got {bbox}")
    area = box(*bbox)
    found: dict[str, S2Tile] = {}
    # Tiles reach up to ~1.5° of longitude beyond their zone, so look one zone further on each side.
    for zone in range(utm_zone(west) - 1, utm_zone(east) + 2):
        zone = (zone - 1) % 60 + 1
        for north_hemisphere in {south >= 0.0, north > 0.0}:
            strip = box(
                zone * 6.0 - 186.0,
                0.0 if north_hemisphere else _MIN_LAT,
                zone * 6.0 - 180.0,
                _MAX_LAT if north_hemisphere else 0.0,
            )
            for tile in _zone_tiles(zone, north_hemisphere, area, strip):
                found[tile.name] = tile
    return [found[name] for name in sorted(found)]


def _zone_tiles(zone: int, north: bool, area: BaseGeometry, strip: Polygon) -> list[S2Tile]:
    epsg = utm_epsg(zone, north)
    xs, ys = to_utm(epsg).transform(*area.exterior.coords.xy)
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    tiles = []
    first_col = int((min_x - TILE_SIZE_M) // SQUARE_SIZE_M) + 1
    for col in range(max(first_col, 1), min(int(max_x // SQUARE_SIZE_M), 8) + 1):
        first_row = int(min_y // SQUARE_SIZE_M)
        for row in range(first_row, int((max_y + TILE_SIZE_M) // SQUARE_SIZE_M) + 1):
            ulx, uly = snap_down(col * SQUARE_SIZE_M), snap_up((row + 1) * SQUARE_SIZE_M)
            tile_bounds = (ulx, uly - TILE_SIZE_M, ulx + TILE_SIZE_M, uly)
            if not lonlat_polygon(epsg, tile_bounds).intersects(area):
                continue
            square = (col * SQUARE_SIZE_M, row * SQUARE_SIZE_M, (col + 1) * SQUARE_SIZE_M, (row + 1) * SQUARE_SIZE_M)
            in_zone = lonlat_polygon(epsg, square).intersection(strip)
            if in_zone.is_empty:
                continue
            letters = square_letters(zone, col, row)
            lat_lo, lat_hi = in_zone.bounds[1], in_zone.bounds[3]
            bands = {band_letter(lat_lo), band_letter(min(lat_hi, _MAX_LAT - 1e-9))}
            for band in sorted(bands):
                tiles.append(S2Tile(f"{zone:02d}{band}{letters}", epsg, ulx, uly))
    return tiles
