"""Which synthetic Sentinel-2 L2A scenes exist for an area and a period: acquisition plan and scene specs.

Two relative orbits pass over the area every 5 days each, alternating Sentinel-2A and -2B:

- R022 (the first day of the period, then every 5 days) images everything;
- R122 (two days later, then every 5 days) has the western edge of its swath in the area: it images only
  the eastern half of every 6° UTM zone (a strip sheared by `SWATH_TILT`), so its scenes hold nodata (0)
  west of the swath edge — for the demo area, west of about 12°E.

Every pass yields one scene per Sentinel-2 tile that intersects the area (tiles of two UTM zones, and the
overlapping tiles of one zone, image the same place at the same time). A scene holds only the part of its tile
inside the area widened by `MARGIN_M` and snapped to the 60 m lattice, never the full 109.8 km tile.
Acquisitions in the first `EARLY_DAYS` days carry processing baseline 03.01 (no BOA offset), later ones 05.10.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from ops.archive_grid import S2Tile, lonlat_polygon, snap_down, snap_up, tiles_for_bbox, to_utm

MARGIN_M = 2_000
MAX_BBOX_DEG = 0.5  # larger areas would make scenes of tens of millions of pixels: split them instead
EARLY_DAYS = 10
EARLY_BASELINE = "03.01"
CURRENT_BASELINE = "05.10"
SWATH_TILT = 0.2  # degrees of longitude per degree of latitude
SWATH_REFERENCE_LAT = 46.0
PROCESSING_DELAY = dt.timedelta(hours=4, minutes=13, seconds=7)  # sensing -> product generation time


@dataclass(frozen=True)
class Orbit:
    """A relative orbit: when it passes and which part of the world its swath images."""

    number: int
    first_day: int
    period_days: int
    sensing_time: dt.time
    partial_swath: bool


ORBITS = (
    Orbit(22, 0, 5, dt.time(10, 15, 59, 24000), partial_swath=False),
    Orbit(122, 2, 5, dt.time(10, 25, 49, 24000), partial_swath=True),
)


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to render one synthetic scene and describe it as a STAC item."""

    item_id: str
    tile: S2Tile
    bounds: tuple[int, int, int, int]  # minx, miny, maxx, maxy in the tile's UTM CRS, on the 60 m lattice
    datetime: dt.datetime
    platform: str
    relative_orbit: int
    processing_baseline: str
    partial_swath: bool
    seed: int

    @property
    def epsg(self) -> int:
        """EPSG code of the scene's UTM CRS."""
        return self.tile.epsg

    @property
    def mgrs_tile(self) -> str:
        """MGRS tile name, e.g. 32TQS."""
        return self.tile.name


def in_swath(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where the partial swath of R122 images (lon/lat arrays in degrees)."""
    return np.mod(lon - SWATH_TILT * (lat - SWATH_REFERENCE_LAT), 6.0) < 3.0


def swath_polygon(west: float, east: float) -> BaseGeometry:
    """The partial swath as lon/lat polygons covering at least longitudes west..east."""
    shear_south, shear_north = SWATH_TILT * (-80.0 - SWATH_REFERENCE_LAT), SWATH_TILT * (84.0 - SWATH_REFERENCE_LAT)
    first = int(np.floor((west - abs(shear_south) - abs(shear_north)) / 6.0)) - 1
    last = int(np.ceil((east + abs(shear_south) + abs(shear_north)) / 6.0)) + 1
    strips = [
        Polygon(
            [
                (6.0 * m + shear_south, -80.0),
                (6.0 * m + 3.0 + shear_south, -80.0),
                (6.0 * m + 3.0 + shear_north, 84.0),
                (6.0 * m + shear_north, 84.0),
            ]
        )
        for m in range(first, last + 1)
    ]
    geometry: BaseGeometry = strips[0]
    for strip in strips[1:]:
        geometry = geometry.union(strip)
    return geometry


def scene_bounds(tile: S2Tile, bbox: tuple[float, float, float, float]) -> tuple[int, int, int, int] | None:
    """The part of `tile` inside `bbox` widened by MARGIN_M, snapped outwards to the 60 m lattice."""
    west, south, east, north = bbox
    xs, ys = to_utm(tile.epsg).transform(*lonlat_outline(west, south, east, north))
    minx, miny, maxx, maxy = tile.bounds
    bounds = (
        max(snap_down(min(xs) - MARGIN_M), minx),
        max(snap_down(min(ys) - MARGIN_M), miny),
        min(snap_up(max(xs) + MARGIN_M), maxx),
        min(snap_up(max(ys) + MARGIN_M), maxy),
    )
    return bounds if bounds[0] < bounds[2] and bounds[1] < bounds[3] else None


def lonlat_outline(west: float, south: float, east: float, north: float, points: int = 11) -> tuple[list, list]:
    """Densified outline of a lon/lat box as (lons, lats)."""
    steps = [i / (points - 1) for i in range(points)]
    lons = [west + (east - west) * t for t in steps] * 2 + [west] * points + [east] * points
    lats = [south] * points + [north] * points + [south + (north - south) * t for t in steps] * 2
    return lons, lats


def footprint(scene: SceneSpec) -> BaseGeometry:
    """The lon/lat outline of the scene's valid data."""
    outline = lonlat_polygon(scene.epsg, scene.bounds)
    if not scene.partial_swath:
        return outline
    west, _, east, _ = outline.bounds
    return outline.intersection(swath_polygon(west, east))


def item_id(platform: str, sensed: dt.datetime, orbit: int, tile: str, area_key: str) -> str:
    """Stable item id in the Planetary Computer form plus a short key of the generated area."""
    generated = sensed + PROCESSING_DELAY
    unit = platform[-1].upper()
    return f"S2{unit}_MSIL2A_{sensed:%Y%m%dT%H%M%S}_R{orbit:03d}_T{tile}_{generated:%Y%m%dT%H%M%S}_{area_key}"


def _area_key(tile: S2Tile, bounds: tuple[int, int, int, int], seed: int) -> str:
    text = f"{tile.name}:{bounds}:{seed}"
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def generate_scenes(bbox: tuple[float, float, float, float], start: dt.date, days: int, seed: int) -> list[SceneSpec]:
    """All scenes of the synthetic archive for `bbox` over [start, start + days), sorted by time then tile.

    Raises ValueError for an area wider or taller than MAX_BBOX_DEG degrees (call once per part instead).
    """
    west, south, east, north = bbox
    if east - west > MAX_BBOX_DEG or north - south > MAX_BBOX_DEG:
        raise ValueError(f"bbox {bbox} spans more than {MAX_BBOX_DEG}°; generate it in smaller parts")
    tiles = [(tile, scene_bounds(tile, bbox)) for tile in tiles_for_bbox(bbox)]
    scenes = []
    for orbit in ORBITS:
        for pass_index, day in enumerate(range(orbit.first_day, days, orbit.period_days)):
            sensed = dt.datetime.combine(start + dt.timedelta(days=day), orbit.sensing_time, tzinfo=dt.UTC)
            platform = "sentinel-2a" if pass_index % 2 == 0 else "sentinel-2b"
            baseline = EARLY_BASELINE if day < EARLY_DAYS else CURRENT_BASELINE
            for tile, bounds in tiles:
                if bounds is None:
                    continue
                scene = SceneSpec(
                    item_id=item_id(platform, sensed, orbit.number, tile.name, _area_key(tile, bounds, seed)),
                    tile=tile,
                    bounds=bounds,
                    datetime=sensed,
                    platform=platform,
                    relative_orbit=orbit.number,
                    processing_baseline=baseline,
                    partial_swath=orbit.partial_swath,
                    seed=seed,
                )
                if not footprint(scene).is_empty:
                    scenes.append(scene)
    return sorted(scenes, key=lambda s: (s.datetime, s.mgrs_tile))
