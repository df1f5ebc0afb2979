"""Vectorised selection of the grid cells whose interior meets a region.

Every grid is described the same way: *blocks* anchored on a regular lattice of step
``block_step`` (the MGRS 100 km squares for UTM grids), each cut into ``n × n`` cells of side
``cell_size`` counted from the block's north-west corner. A block is tested first; blocks inside
the region take all their cells without further tests, only boundary blocks test their cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Lattice:
    """Blocks at multiples of ``block_step``, each holding ``cells_per_block``² cells."""

    block_step: float
    cells_per_block: int
    cell_size: float

    @property
    def block_extent(self) -> float:
        """Side of the area covered by the cells of one block (may exceed the step)."""
        return self.cells_per_block * self.cell_size


@dataclass(frozen=True)
class CellIndex:
    """Selected cells: block indices (west edge = bx·step, north edge = by·step), column and row."""

    bx: IntArray
    by: IntArray
    col: IntArray
    row: IntArray

    def __len__(self) -> int:
        return len(self.bx)

    def upper_left(self, lattice: Lattice) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Upper-left corners of the cells."""
        x = self.bx * lattice.block_step + self.col * lattice.cell_size
        y = self.by * lattice.block_step - self.row * lattice.cell_size
        return x.astype(float), y.astype(float)


def _meets_interior(region: BaseGeometry, boxes: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    """Boxes that share area with the region (touching only along an edge does not count)."""
    hits = shapely.intersects(region, boxes)
    if hits.any():
        hits[hits] &= ~shapely.touches(region, boxes[hits])
    return hits


def select_cells(region: BaseGeometry, lattice: Lattice,
                 bx_range: tuple[int, int] | None = None,
                 by_range: tuple[int, int] | None = None) -> CellIndex:
    """All cells of ``lattice`` whose interior meets ``region`` (same CRS), each once.

    ``bx_range``/``by_range`` optionally restrict the block indices (inclusive bounds).
    """
    empty = np.empty(0, dtype=np.int64)
    if region.is_empty:
        return CellIndex(empty, empty, empty, empty)
    shapely.prepare(region)
    step, extent, n = lattice.block_step, lattice.block_extent, lattice.cells_per_block
    minx, miny, maxx, maxy = region.bounds
    bx_lo, bx_hi = math.floor((minx - extent) / step), math.ceil(maxx / step)
    by_lo, by_hi = math.floor(miny / step), math.ceil((maxy + extent) / step)
    if bx_range is not None:
        bx_lo, bx_hi = max(bx_lo, bx_range[0]), min(bx_hi, bx_range[1])
    if by_range is not None:
        by_lo, by_hi = max(by_lo, by_range[0]), min(by_hi, by_range[1])
    if bx_lo > bx_hi or by_lo > by_hi:
        return CellIndex(empty, empty, empty, empty)

    bx, by = (a.ravel() for a in np.meshgrid(np.arange(bx_lo, bx_hi + 1, dtype=np.int64),
                                             np.arange(by_lo, by_hi + 1, dtype=np.int64)))
    west, north = bx * step, by * step
    blocks = shapely.box(west, north - extent, west + extent, north)
    hit = _meets_interior(region, blocks)
    inside = np.zeros_like(hit)
    inside[hit] = shapely.contains_properly(region, blocks[hit])

    col_grid, row_grid = (a.ravel() for a in np.meshgrid(np.arange(n, dtype=np.int64),
                                                         np.arange(n, dtype=np.int64)))
    cells_per_block = n * n

    def expand(block_mask: npt.NDArray[np.bool_]) -> CellIndex:
        count = int(block_mask.sum())
        return CellIndex(
            np.repeat(bx[block_mask], cells_per_block), np.repeat(by[block_mask], cells_per_block),
            np.tile(col_grid, count), np.tile(row_grid, count),
        )

    full = expand(inside)
    edge = expand(hit & ~inside)
    x, y = edge.upper_left(lattice)
    size = lattice.cell_size
    keep = _meets_interior(region, shapely.box(x, y - size, x + size, y))
    return CellIndex(
        np.concatenate([full.bx, edge.bx[keep]]), np.concatenate([full.by, edge.by[keep]]),
        np.concatenate([full.col, edge.col[keep]]), np.concatenate([full.row, edge.row[keep]]),
    )
