"""Tile outputs: strip-wise writing to a temporary GeoTIFF, conversion to a validated COG, upload to S3,
and the overwrite / skipExisting rules of batch-api.md §4.3."""

from __future__ import annotations

import errno
import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
from rasterio.enums import Resampling
from rasterio.io import DatasetWriter
from rasterio.windows import Window
from rio_cogeo.cogeo import cog_translate, cog_validate
from rio_cogeo.profiles import cog_profiles

from evalbatch.objectstore import object_exists, put_bytes, upload_file
from workers.errors import InvalidRequestError, OutputExistsError, TransientError, describe
from workers.tilegrid import TileGrid

SAMPLE_TYPE_DTYPES = {
    "AUTO": "uint8",
    "UINT8": "uint8",
    "INT8": "int8",
    "UINT16": "uint16",
    "INT16": "int16",
    "FLOAT32": "float32",
}
V1_BLOCK_SIZE = 1024
V2_BLOCK_SIZE = 256
TEMP_BLOCK_SIZE = 256
# rio-cogeo builds the overviews of outputs up to this many values in memory (small tiles: no temporary file;
# 16 Mi values is at most 64 MiB of FLOAT32), larger ones in a temporary file next to the output
IN_MEMORY_COG_MAX_VALUES = 16 * 1024**2
TIFF_TYPE = "image/tiff"
SINGLE_PUT_MAX_BYTES = 8 * 1024**2  # boto3's multipart threshold: below it its managed upload is one PUT too
JSON_TYPE = "application/json"
FULL_DISK_FREE_BYTES = 1024**2  # a write error with less than this left in the work directory: disk full
OVERVIEW_RESAMPLINGS = (
    "nearest", "average", "gauss", "cubic", "cubicspline", "lanczos", "average_magphase", "mode", "bilinear"
)


def dtype_of(sample_type: str) -> str:
    """The numpy dtype of an evalscript sampleType."""
    try:
        return SAMPLE_TYPE_DTYPES[sample_type.upper()]
    except KeyError:
        raise InvalidRequestError(f"unsupported sampleType {sample_type!r}") from None


@dataclass(frozen=True)
class CogOptions:
    """COG layout from `cogParameters` (batch-api.md §4.2; v2 default block size 256)."""

    blocksize: int
    overview_levels: int | None
    resampling: str
    predictor: bool

    @classmethod
    def from_parameters(cls, params: dict[str, Any] | None, api_version: int) -> CogOptions:
        """Parse `cogParameters`."""
        params = params or {}
        default_block = V2_BLOCK_SIZE if api_version == 2 else V1_BLOCK_SIZE
        block = int(params.get("blockxsize") or params.get("blockysize") or default_block)
        if block <= 0 or block % 16:
            raise InvalidRequestError(f"cogParameters.blockxsize must be a positive multiple of 16, got {block}")
        levels = params.get("overviewLevels")
        resampling = str(params.get("resamplingAlgorithm") or "average")
        if resampling not in OVERVIEW_RESAMPLINGS:
            raise InvalidRequestError(f"cogParameters.resamplingAlgorithm {resampling!r} is not supported")
        return cls(
            blocksize=block,
            overview_levels=len(levels) if levels else None,
            resampling=resampling,
            predictor=bool(params.get("usePredictor", True)),
        )


class StripWriter:
    """An uncompressed tiled GeoTIFF of one output, filled strip by strip; `to_cog` converts it."""

    def __init__(self, path: Path, grid: TileGrid, bands: int, dtype: str, nodata: float | None) -> None:
        self.path = path
        self.dtype = dtype
        self.nodata = nodata
        self.values = grid.width * grid.height * bands
        self._dataset: DatasetWriter = rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=grid.width,
            height=grid.height,
            count=bands,
            dtype=dtype,
            crs=grid.crs,
            transform=grid.transform,
            nodata=nodata,
            tiled=True,
            blockxsize=TEMP_BLOCK_SIZE,
            blockysize=TEMP_BLOCK_SIZE,
            BIGTIFF="IF_SAFER",
        )

    def write(self, data: np.ndarray, window: Window) -> None:
        """Write a (bands, rows, cols) block."""
        self._dataset.write(data.astype(self.dtype, copy=False), window=window)

    def close(self) -> None:
        """Flush and close the temporary file."""
        self._dataset.close()

    def to_cog(self, destination: Path, options: CogOptions) -> Path:
        """Write the finished file as a COG at `destination` and check it is valid."""
        self.close()
        profile = cog_profiles.get("deflate")
        profile.update(blockxsize=options.blocksize, blockysize=options.blocksize)
        if options.predictor:
            profile["predictor"] = 3 if np.dtype(self.dtype).kind == "f" else 2
        cog_translate(
            str(self.path),
            str(destination),
            profile,
            nodata=self.nodata,
            overview_level=options.overview_levels,
            overview_resampling=options.resampling,
            in_memory=self.values <= IN_MEMORY_COG_MAX_VALUES,
            quiet=True,
            use_cog_driver=False,
        )
        is_valid, errors, _ = cog_validate(str(destination), quiet=True)
        if not is_valid:
            raise RuntimeError(f"written COG is not valid: {errors}")
        return destination


def disk_full(directory: Path, exc: BaseException) -> bool:
    """Whether `exc` (GDAL reports only "Write failed") comes from a full filesystem under `directory`."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    try:
        return shutil.disk_usage(directory).free < FULL_DISK_FREE_BYTES
    except OSError:
        return False


@contextmanager
def reporting_full_disk(directory: Path) -> Iterator[None]:
    """Turn a write error on a full work directory into a TransientError saying "No space left" (retried:
    another worker, or this one later, may have room)."""
    try:
        yield
    except (OSError, rasterio.errors.RasterioError) as exc:
        if not disk_full(directory, exc):
            raise
        raise TransientError(f"No space left on device in the work directory {directory}: {describe(exc)}") from exc


def check_targets(client: Any, urls: Sequence[str], overwrite: bool, skip_existing: bool) -> bool:
    """Apply §4.3 before a tile runs: returns True when the tile must be skipped (skipExisting and every
    output exists); raises OutputExistsError when an output exists and overwriting is not allowed."""
    if overwrite and not skip_existing:
        return False
    existing = [url for url in urls if object_exists(client, url)]
    if skip_existing and urls and len(existing) == len(urls):
        return True
    if existing and not overwrite:
        raise OutputExistsError(f"output {existing[0]} already exists and the request does not allow overwrite")
    return False


def deliver_cog(client: Any, path: Path, url: str) -> None:
    """Upload a finished COG under its final key: one PUT when it is small (what the managed upload does too,
    without its thread pool), else a multipart upload (the object appears only once complete either way)."""
    if path.stat().st_size <= SINGLE_PUT_MAX_BYTES:
        put_bytes(client, url, path.read_bytes(), TIFF_TYPE)
    else:
        upload_file(client, str(path), url, TIFF_TYPE)


def deliver_userdata(client: Any, userdata: Any, url: str) -> None:
    """Upload the userData of `updateOutputMetadata` as JSON."""
    put_bytes(client, url, json.dumps(userdata).encode(), JSON_TYPE)


RESAMPLING_BY_NAME = {r.name: r for r in Resampling}
