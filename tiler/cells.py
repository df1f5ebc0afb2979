"""CellBatch: the selected cells of one CRS as parallel arrays, before they become Tile objects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Densification step (degrees) applied to lon/lat regions before projecting them to a grid CRS.
DENSIFY_DEG = 0.01


@dataclass(frozen=True)
class CellBatch:
    """Cells sharing one CRS: ids, names, upper-left corners and WGS84 footprints."""

    epsg: int
    ids: npt.NDArray[np.int64]
    names: list[str]
    x_ul: npt.NDArray[np.float64]
    y_ul: npt.NDArray[np.float64]
    footprints: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.ids)


def corner_rings(x_ul: npt.NDArray[np.float64], y_ul: npt.NDArray[np.float64], size: float
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Closed rings UL, UR, LR, LL, UL of square cells, as (N, 5) x and y arrays."""
    xs = np.stack([x_ul, x_ul + size, x_ul + size, x_ul, x_ul], axis=1)
    ys = np.stack([y_ul, y_ul, y_ul - size, y_ul - size, y_ul], axis=1)
    return xs, ys


@dataclass(frozen=True)
class PendingBatch:
    """Selected cells of one CRS, counted but not yet turned into names and footprints."""

    count: int
    build: Callable[[], CellBatch]


#: What every grid kind's cell finder yields, one item per CRS (zone), lazily.
PendingBatches = Iterator[PendingBatch]
