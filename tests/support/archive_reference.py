"""An independent numpy computation of what a tile must contain, straight from the synthetic archive.

It lists the archived scenes with `ops.archive.generate_scenes`, downloads their COGs whole with boto3 (no
STAC, no GDAL S3 access, no worker code), warps them onto the tile grid by exact nearest neighbour (pyproj), masks
clouds from SCL, orders scenes by the documented mosaicking rules and composites them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine
from pyproj import Transformer
from rasterio.io import MemoryFile

from evalbatch.profiles import boa_offset
from ops.archive import generate_scenes
from ops.archive_render import cloud_cover

CLOUD_CLASSES = (0, 1, 3, 8, 9, 10)
PIXEL_EPSILON = 1e-9  # pixel centres that fall exactly on a source pixel edge go to the next pixel


@dataclass
class Layer:
    """One archived scene warped onto the tile: reflectances, validity, date, id and cloud cover."""

    item_id: str
    date: dt.datetime
    cloud: float
    values: dict[str, np.ndarray]
    valid: np.ndarray


def tile_transform(tile: dict) -> tuple[Affine, int, int]:
    """Transform and size of a stored tile's buffered raster, from its upper-left origin."""
    res = tile["resolution"]
    x0, y0 = tile["origin"]["coordinates"]
    bx, by = tile["bufferX"], tile["bufferY"]
    transform = Affine(res, 0, x0 - bx * res, 0, -res, y0 + by * res)
    return transform, tile["widthPx"] + 2 * bx, tile["heightPx"] + 2 * by


def nearest_warp(array: np.ndarray, src_transform: Affine, src_epsg: int, tile: dict) -> np.ndarray:
    """Exact nearest-neighbour warp: each tile pixel centre is projected with pyproj into the source CRS
    and takes the source pixel it falls in (0 outside the source)."""
    transform, width, height = tile_transform(tile)
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    xs, ys = transform @ (cols, rows)
    if src_epsg != tile["epsg"]:
        to_src = Transformer.from_crs(tile["epsg"], src_epsg, always_xy=True)
        xs, ys = to_src.transform(xs, ys)
    src_cols, src_rows = ~src_transform @ (xs, ys)
    col = np.floor(src_cols + PIXEL_EPSILON).astype(np.int64)
    row = np.floor(src_rows + PIXEL_EPSILON).astype(np.int64)
    inside = (col >= 0) & (col < array.shape[1]) & (row >= 0) & (row < array.shape[0])
    out = np.zeros((height, width), dtype=array.dtype)
    out[inside] = array[row[inside], col[inside]]
    return out


def download(s3: Any, bucket: str, scene: Any, band: str) -> tuple[np.ndarray, Affine, int]:
    """One archived COG, read whole from the object bytes."""
    key = f"sentinel-2-l2a/{scene.mgrs_tile}/{scene.datetime:%Y/%m/%d}/{scene.item_id}/{band}.tif"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with MemoryFile(body) as mem, mem.open() as ds:
        return ds.read(1), ds.transform, ds.crs.to_epsg()


def layers(
    s3: Any, bucket: str, tile: dict, bands: list[str], bbox: tuple, start: dt.date, days: int, seed: int,
    time_from: dt.datetime, time_to: dt.datetime,
) -> list[Layer]:
    """Every archived scene in [time_from, time_to] warped onto `tile` (REFLECTANCE, harmonised)."""
    result = []
    for scene in generate_scenes(bbox, start, days, seed):
        if not time_from <= scene.datetime <= time_to:
            continue
        scl_native, scl_transform, epsg = download(s3, bucket, scene, "SCL")
        scl = nearest_warp(scl_native, scl_transform, epsg, tile)
        valid = ~np.isin(scl, CLOUD_CLASSES)
        values = {}
        for band in bands:
            dn, transform, epsg = download(s3, bucket, scene, band)
            warped = nearest_warp(dn, transform, epsg, tile)
            valid &= warped != 0
            reflectance = (warped.astype(np.float32) + np.float32(boa_offset(scene.processing_baseline)))
            values[band] = (np.maximum(reflectance, 0) / np.float32(10000)).ravel()
        result.append(Layer(scene.item_id, scene.datetime, cloud_cover(scl_native), values, valid.ravel()))
    return result


def order_layers(found: list[Layer], order: str) -> list[Layer]:
    """mostRecent: newest first (ties: larger item id first); leastRecent: the reverse; leastCC: least
    cloudy first, ties newest first."""
    newest = sorted(found, key=lambda la: (la.date, la.item_id), reverse=True)
    if order == "leastRecent":
        return newest[::-1]
    if order == "leastCC":
        return sorted(newest, key=lambda la: la.cloud)
    return newest


def composite(ordered: list[Layer], bands: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """First valid pixel in order."""
    size = ordered[0].valid.size
    values = {b: np.zeros(size, np.float32) for b in bands}
    filled = np.zeros(size, bool)
    for layer in ordered:
        take = layer.valid & ~filled
        for band in bands:
            values[band][take] = layer.values[band][take]
        filled |= take
    return values, filled


def by_day(ordered: list[Layer]) -> list[list[Layer]]:
    """Layers grouped per UTC day, groups in order of first appearance."""
    groups: dict[dt.date, list[Layer]] = {}
    for layer in ordered:
        groups.setdefault(layer.date.date(), []).append(layer)
    return list(groups.values())


def ndvi(values: dict[str, np.ndarray]) -> np.ndarray:
    """NDVI computed in double precision like the JS runtime, then stored as float32."""
    b4 = values["B04"].astype(np.float64)
    b8 = values["B08"].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((b8 - b4) / (b8 + b4)).astype(np.float32)
