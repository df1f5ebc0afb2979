"""Stable tile ids derived from the cell position (always < 2**53, so safe in JSON numbers).

Decimal layout, so that an id can be read by eye:
``G ZZ H E NNN CC RR`` for UTM grids (grid, zone, hemisphere 0=N/1=S, square easting index,
square northing index, column, row) and ``G YYYYYY XXXXXX`` for grids on a plain lattice
(cell indices shifted by LATTICE_OFFSET to stay positive).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

GRID_FACTOR = 10**12
LATTICE_OFFSET = 500_000
_LATTICE_Y_FACTOR = 10**6


def utm_ids(grid_id: int, zone: int, south: bool, bx: IntArray, by: IntArray, col: IntArray,
            row: IntArray) -> IntArray:
    """Ids of UTM cells of one zone and hemisphere."""
    prefix = (grid_id * 100 + zone) * 10 + int(south)
    return (((prefix * 10 + bx) * 1000 + by) * 100 + col) * 100 + row


def lattice_ids(grid_id: int, ix: IntArray, iy: IntArray) -> IntArray:
    """Ids of cells of a plain lattice, from their integer lower-left indices."""
    return (grid_id * GRID_FACTOR + (iy + LATTICE_OFFSET) * _LATTICE_Y_FACTOR
            + (ix + LATTICE_OFFSET))
