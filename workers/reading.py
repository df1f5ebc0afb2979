"""Windowed reads of source COGs warped straight into a tile's grid, concurrently across assets.

Datasets are opened in the calling (main) thread, where the `rasterio.Env` with the S3 options is active,
and kept open for the whole tile; the reads of one strip then run in a thread pool (GDAL releases the GIL).
Each dataset is read by one thread at a time: a strip reads every asset at most once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import numpy as np
import rasterio
import rasterio.errors
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from evalbatch.objectstore import vsi_path
from workers.tilegrid import TileGrid

RESAMPLING = {"NEAREST": Resampling.nearest, "BILINEAR": Resampling.bilinear, "BICUBIC": Resampling.cubic}
DEFAULT_THREADS = 8
# Error threshold of GDAL's approximate transformer, in source pixels. GDAL's default (0.125) lets nearest
# resampling pick a neighbouring source pixel where scenes are warped across UTM zones; 0.001 px is exact
# for practical purposes and costs next to nothing for UTM-to-UTM warps.
WARP_TOLERANCE_PX = 0.001


@dataclass(frozen=True)
class AssetRead:
    """One asset to read: its href and the resampling to use for it."""

    href: str
    resampling: Resampling = Resampling.nearest


def resampling_for(processing: dict[str, str] | None, native_res: float, target_res: float) -> Resampling:
    """`processing.upsampling` when the source is coarser than the tile, else `downsampling`; NEAREST default."""
    processing = processing or {}
    key = "upsampling" if native_res > target_res else "downsampling"
    name = str(processing.get(key) or "NEAREST").upper()
    if name not in RESAMPLING:
        from workers.errors import InvalidRequestError

        raise InvalidRequestError(f"processing.{key} must be one of {', '.join(RESAMPLING)}, got {name!r}")
    return RESAMPLING[name]


@contextmanager
def naming_the_object(href: str) -> Iterator[None]:
    """Re-raise GDAL I/O errors (still retried) with the object they concern in the message: GDAL's own
    messages often do not say which file is unreadable."""
    try:
        yield
    except rasterio.errors.RasterioIOError as exc:
        if href in str(exc):
            raise
        raise rasterio.errors.RasterioIOError(f"{href}: {exc}") from exc


def _read(asset: AssetRead, vrt: WarpedVRT, window: Window) -> np.ndarray:
    with naming_the_object(asset.href):
        return vrt.read(1, window=window)


class TileReader:
    """Reads strips of many assets warped to one tile grid; use as a context manager."""

    def __init__(self, grid: TileGrid, threads: int = DEFAULT_THREADS) -> None:
        self.grid = grid
        self._stack = ExitStack()
        self._vrts: dict[tuple[str, Resampling], WarpedVRT] = {}
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="read")
        self.bytes_read = 0

    def __enter__(self) -> TileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every open dataset and the thread pool."""
        self._pool.shutdown(wait=True)
        self._stack.close()
        self._vrts.clear()

    def _vrt(self, asset: AssetRead) -> WarpedVRT:
        key = (asset.href, asset.resampling)
        vrt = self._vrts.get(key)
        if vrt is None:
            # Full resolution only: GDAL would otherwise warp from an overview when downsampling, and
            # overview pixels (averages) are not the source pixels NEAREST resampling must return.
            with naming_the_object(asset.href):
                src = self._stack.enter_context(rasterio.open(vsi_path(asset.href), OVERVIEW_LEVEL="NONE"))
            vrt = self._stack.enter_context(
                WarpedVRT(
                    src,
                    crs=self.grid.crs,
                    transform=self.grid.transform,
                    width=self.grid.width,
                    height=self.grid.height,
                    resampling=asset.resampling,
                    tolerance=WARP_TOLERANCE_PX,
                    nodata=src.nodata if src.nodata is not None else 0,
                )
            )
            self._vrts[key] = vrt
        return vrt

    def read(self, assets: Sequence[AssetRead], window: Window) -> list[np.ndarray]:
        """One (rows, width) array per asset for `window` of the tile, in the source dtype (0 = nodata)."""
        vrts = [self._vrt(a) for a in assets]  # opening happens here, in the caller's thread
        arrays = list(self._pool.map(lambda pair: _read(*pair, window), zip(assets, vrts, strict=True)))
        self.bytes_read += sum(a.nbytes for a in arrays)
        return arrays
