"""AOI × WGS84 1° grid 3 (grids-and-cost.md §2.4)."""

from __future__ import annotations

from functools import partial

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from grids import Grid
from grids.naming import wgs84_tile_name
from tiler.cells import CellBatch, PendingBatch, PendingBatches, corner_rings
from tiler.crs import WGS84_EPSG
from tiler.geometry import clip
from tiler.ids import lattice_ids
from tiler.lattice import CellIndex, Lattice, select_cells

_CELLS_PER_BLOCK = 10


def wgs84_cell_batches(aoi: BaseGeometry, grid: Grid) -> PendingBatches:
    """1° cells with edges on integer degrees that meet ``aoi``."""
    size = grid.tile_size
    region = clip(aoi, -180.0, -90.0, 180.0, 90.0)
    step = _CELLS_PER_BLOCK * size
    blocks_lon = round(180.0 / step)
    blocks_lat = round(90.0 / step)
    lattice = Lattice(step, _CELLS_PER_BLOCK, size)
    cells = select_cells(region, lattice, bx_range=(-blocks_lon, blocks_lon - 1),
                         by_range=(-blocks_lat + 1, blocks_lat))
    if len(cells):
        yield PendingBatch(len(cells), partial(_batch, grid, lattice, cells))


def _batch(grid: Grid, lattice: Lattice, cells: CellIndex) -> CellBatch:
    size = grid.tile_size
    x_ul, y_ul = cells.upper_left(lattice)
    lon_ll = np.rint(x_ul).astype(np.int64)
    lat_ll = np.rint(y_ul - size).astype(np.int64)
    ring_x, ring_y = corner_rings(x_ul, y_ul, size)
    footprints = shapely.polygons(np.stack([ring_x, ring_y], axis=2))
    names = [wgs84_tile_name(lon, lat) for lon, lat in zip(lon_ll.tolist(), lat_ll.tolist(), strict=True)]
    return CellBatch(WGS84_EPSG, lattice_ids(grid.id, lon_ll, lat_ll), names, x_ul, y_ul, footprints)
