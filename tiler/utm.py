"""AOI × UTM grids 0, 1, 2: cells per zone and hemisphere (grids-and-cost.md §2.3)."""

from __future__ import annotations

from functools import partial

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from grids import Grid
from grids.mgrs import BAND_LETTERS, SQUARE_SIZE_M, band_indices, square_letters
from grids.naming import utm_tile_name
from grids.utm import (
    FIRST_SQUARE_INDEX,
    LAST_SQUARE_INDEX,
    SOUTH_FALSE_NORTHING_SQUARES,
    cells_per_square,
    utm_epsg,
    zone_longitudes,
    zones_for_longitudes,
)
from tiler.cells import DENSIFY_DEG, CellBatch, PendingBatch, PendingBatches, corner_rings
from tiler.crs import WGS84_EPSG
from tiler.geometry import clip
from tiler.ids import utm_ids
from tiler.lattice import CellIndex, Lattice, select_cells
from tiler.projection import transform_arrays, transform_geometry


def utm_cell_batches(aoi: BaseGeometry, grid: Grid) -> PendingBatches:
    """Cells of ``grid`` meeting ``aoi`` (WGS84), one batch per UTM zone and hemisphere."""
    assert grid.max_latitude is not None
    lattice = Lattice(SQUARE_SIZE_M, cells_per_square(grid.tile_size), grid.tile_size)
    minlon, _, maxlon, _ = aoi.bounds
    for zone in zones_for_longitudes(minlon, maxlon):
        west, east = zone_longitudes(zone)
        for north in (True, False):
            south_lat, north_lat = (0.0, grid.max_latitude) if north else (-grid.max_latitude, 0.0)
            region_ll = clip(aoi, west, south_lat, east, north_lat)
            if region_ll.is_empty:
                continue
            epsg = utm_epsg(zone, north)
            region = transform_geometry(region_ll, WGS84_EPSG, epsg, max_segment=DENSIFY_DEG)
            # North squares lie above the equator (south edge >= 0); south squares below it.
            by_range = (1, 10**6) if north else (1, SOUTH_FALSE_NORTHING_SQUARES)
            cells = select_cells(region, lattice, (FIRST_SQUARE_INDEX, LAST_SQUARE_INDEX), by_range)
            if len(cells):
                yield PendingBatch(len(cells), partial(_batch, grid, zone, north, epsg, lattice, cells))


def _batch(grid: Grid, zone: int, north: bool, epsg: int, lattice: Lattice,
           cells: CellIndex) -> CellBatch:
    x_ul, y_ul = cells.upper_left(lattice)
    size = grid.tile_size
    ring_x, ring_y = corner_rings(x_ul, y_ul, size)
    count = len(cells)
    xs = np.concatenate([ring_x[:, :4].ravel(), x_ul + size / 2])
    ys = np.concatenate([ring_y[:, :4].ravel(), y_ul - size / 2])
    lon, lat = transform_arrays(epsg, WGS84_EPSG, xs, ys)
    # Keep longitudes continuous around the zone's central meridian, so that cells of zones 1 and 60
    # that reach past the antimeridian stay one polygon (their corners may lie slightly beyond ±180°).
    west, east = zone_longitudes(zone)
    central = (west + east) / 2
    lon = central + (lon - central + 180.0) % 360.0 - 180.0
    corners = np.stack([lon[: 4 * count].reshape(count, 4), lat[: 4 * count].reshape(count, 4)], axis=2)
    footprints = shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))
    bands = band_indices(lat[4 * count:])
    ids = utm_ids(grid.id, zone, not north, cells.bx, cells.by, cells.col, cells.row)
    squares: dict[tuple[int, int], str] = {}
    names = []
    for bx, by, col, row, band in zip(cells.bx.tolist(), cells.by.tolist(), cells.col.tolist(),
                                      cells.row.tolist(), bands.tolist(), strict=True):
        square = squares.get((bx, by))
        if square is None:
            # The square's south edge is (by - 1) × 100 km.
            square = squares[(bx, by)] = square_letters(zone, bx, by - 1)
        names.append(utm_tile_name(zone, BAND_LETTERS[band], square, col, row))
    return CellBatch(epsg, ids, names, x_ul, y_ul, footprints)
