"""Shared checks for the tiler tests (a uniquely named module, imported by the test files)."""

from collections import defaultdict

import numpy as np
import shapely
from pyproj import Transformer

from tiler import AOI, Tile


def bbox_aoi_bounds(minx, miny, maxx, maxy):
    """``input.bounds`` of a CRS84 bbox."""
    return {"bbox": [minx, miny, maxx, maxy]}


def random_points_in(geometry, count, seed=0):
    """Uniform random lon/lat points inside ``geometry``."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = geometry.bounds
    found = []
    while sum(len(f) for f in found) < count:
        xy = rng.uniform([minx, miny], [maxx, maxy], size=(count, 2))
        inside = shapely.contains_xy(geometry, xy[:, 0], xy[:, 1])
        found.append(xy[inside])
    return np.concatenate(found)[:count]


def assert_points_covered(aoi: AOI, tiles: list[Tile], count=2000):
    """Every sampled AOI point falls inside some tile's unbuffered cell, tested in the tile's CRS."""
    points = random_points_in(aoi.geometry, count)
    covered = np.zeros(len(points), dtype=bool)
    by_epsg = defaultdict(list)
    for tile in tiles:
        by_epsg[tile.epsg].append(tile)
    for epsg, group in by_epsg.items():
        x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(points[:, 0], points[:, 1])
        for tile in group:
            x0, y0 = tile.origin
            covered |= (x >= x0) & (x <= x0 + tile.tile_width) & (y <= y0) & (y >= y0 - tile.tile_height)
    assert covered.all(), f"{(~covered).sum()} AOI points are in no tile, e.g. {points[~covered][:3]}"


def assert_footprints_cover(aoi: AOI, tiles: list[Tile], rel_tol=1e-6):
    """The union of the WGS84 footprints contains the AOI (up to straight-edge approximation)."""
    union = shapely.union_all([t.footprint for t in tiles])
    missing = aoi.geometry.difference(union).area
    assert missing <= rel_tol * aoi.geometry.area, f"uncovered area {missing} deg²"


def assert_each_tile_once_and_needed(aoi: AOI, tiles: list[Tile]):
    """No duplicate ids, names or cells; sorted by id; every tile meets the AOI."""
    ids = [t.id for t in tiles]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(tiles)
    assert len({t.name for t in tiles}) == len(tiles)
    assert len({(t.epsg, t.origin) for t in tiles}) == len(tiles)
    assert all(0 <= i < 2**53 for i in ids)
    footprints = np.array([t.footprint for t in tiles])
    assert shapely.intersects(aoi.geometry, footprints).all()
