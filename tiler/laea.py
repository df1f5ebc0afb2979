"""AOI × LAEA Europe grids 6 and 7 (EPSG:3035, grids-and-cost.md §2.5)."""

from __future__ import annotations

from functools import lru_cache, partial

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from grids import Grid
from grids.naming import LAEA_NAME_DIGITS, laea_tile_name
from tiler.cells import DENSIFY_DEG, CellBatch, PendingBatch, PendingBatches, corner_rings
from tiler.crs import WGS84_EPSG
from tiler.geometry import clip
from tiler.ids import lattice_ids
from tiler.lattice import CellIndex, Lattice, select_cells
from tiler.projection import transform_arrays, transform_geometry

LAEA_EPSG = 3035
_CELLS_PER_BLOCK = 10


@lru_cache(maxsize=1)
def laea_coverage() -> tuple[float, float, float, float]:
    """West, south, east, north (degrees) of the EPSG:3035 area of use, read from pyproj."""
    area = CRS.from_epsg(LAEA_EPSG).area_of_use
    assert area is not None
    return area.west, area.south, area.east, area.north


def laea_cell_batches(aoi: BaseGeometry, grid: Grid) -> PendingBatches:
    """EPSG:3035 cells (edges at multiples of the cell size) meeting ``aoi`` within the coverage."""
    region_ll = clip(aoi, *laea_coverage())
    if region_ll.is_empty:
        return
    size = grid.tile_size
    lattice = Lattice(_CELLS_PER_BLOCK * size, _CELLS_PER_BLOCK, size)
    region = transform_geometry(region_ll, WGS84_EPSG, LAEA_EPSG, max_segment=DENSIFY_DEG)
    cells = select_cells(region, lattice)
    if len(cells):
        yield PendingBatch(len(cells), partial(_batch, grid, lattice, cells))


def _batch(grid: Grid, lattice: Lattice, cells: CellIndex) -> CellBatch:
    size = grid.tile_size
    x_ul, y_ul = cells.upper_left(lattice)
    ix = np.rint(x_ul / size).astype(np.int64)
    iy = np.rint((y_ul - size) / size).astype(np.int64)
    ring_x, ring_y = corner_rings(x_ul, y_ul, size)
    lon, lat = transform_arrays(LAEA_EPSG, WGS84_EPSG, ring_x.ravel(), ring_y.ravel())
    footprints = shapely.polygons(np.stack([lon.reshape(ring_x.shape), lat.reshape(ring_y.shape)], axis=2))
    digits = LAEA_NAME_DIGITS[grid.id]
    names = [laea_tile_name(x, y, digits) for x, y in zip(ix.tolist(), iy.tolist(), strict=True)]
    return CellBatch(LAEA_EPSG, lattice_ids(grid.id, ix, iy), names, x_ul, y_ul, footprints)
