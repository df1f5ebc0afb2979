"""Vectorised reprojection of coordinate arrays and shapely geometries (cached transformers)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

FloatArray = npt.NDArray[np.float64]


@lru_cache(maxsize=256)
def transformer(source_epsg: int, target_epsg: int) -> Transformer:
    """A cached x/y-ordered (lon, lat) transformer between two EPSG codes."""
    return Transformer.from_crs(source_epsg, target_epsg, always_xy=True)


def transform_arrays(source_epsg: int, target_epsg: int, x: npt.ArrayLike,
                     y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Reproject coordinate arrays in one pyproj call."""
    tx, ty = transformer(source_epsg, target_epsg).transform(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    )
    return np.asarray(tx, dtype=float), np.asarray(ty, dtype=float)


def transform_geometry(geometry: BaseGeometry, source_epsg: int, target_epsg: int,
                       max_segment: float | None = None) -> BaseGeometry:
    """Reproject a geometry vertex by vertex, first densifying edges longer than ``max_segment``.

    Densifying keeps straight edges of the source CRS close to their true image in the target CRS.
    """
    if max_segment is not None:
        geometry = shapely.segmentize(geometry, max_segment)

    def _apply(coords: FloatArray) -> FloatArray:
        tx, ty = transform_arrays(source_epsg, target_epsg, coords[:, 0], coords[:, 1])
        return np.column_stack([tx, ty])

    return shapely.transform(geometry, _apply)
