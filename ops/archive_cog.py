"""Encode one band as a Cloud-Optimized GeoTIFF in memory (GDAL COG driver: 512 px tiles, overviews).

ZSTD level 3 with the horizontal predictor: about twice as fast as DEFLATE at a slightly smaller size on
these rasters, and readable by every GDAL since 2.3 (so by rasterio's wheels).
"""

from __future__ import annotations

import numpy as np
import rasterio
from affine import Affine
from rasterio.io import MemoryFile

COG_BLOCK_SIZE = 512
COG_NODATA = 0
COG_COMPRESSION = "ZSTD"
COG_COMPRESSION_LEVEL = 3


def cog_bytes(array: np.ndarray, transform: Affine, epsg: int, categorical: bool = False) -> bytes:
    """The bytes of a single-band COG of `array` (nodata 0, ZSTD, overviews while larger than a block).

    Overviews use "average" for reflectance and "nearest" for class bands such as SCL (`categorical`).
    """
    rows, cols = array.shape
    profile = {
        "driver": "COG",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": array.dtype.name,
        "crs": rasterio.CRS.from_epsg(epsg),
        "transform": transform,
        "nodata": COG_NODATA,
        "blocksize": COG_BLOCK_SIZE,
        "compress": COG_COMPRESSION,
        "level": COG_COMPRESSION_LEVEL,
        "predictor": "NO" if categorical else "2",
        "overviews": "AUTO",
        "overview_resampling": "NEAREST" if categorical else "AVERAGE",
        "resampling": "NEAREST",
    }
    with rasterio.Env(GDAL_NUM_THREADS="1"), MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(array, 1)
        return bytes(memory.read())
