"""The output raster of one tile (CRS, transform, size including the buffer) rebuilt from its stored record."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.windows import Window
from shapely.geometry import Polygon

from tiler import Tile


@lru_cache(maxsize=128)
def _to_wgs84(epsg: int) -> Transformer:
    return Transformer.from_crs(epsg, 4326, always_xy=True)


@dataclass(frozen=True)
class TileGrid:
    """Pixel grid of a tile's output: `width` x `height` pixels (buffer included) of `resolution` in `epsg`."""

    epsg: int
    transform: Affine
    width: int
    height: int

    @property
    def crs(self) -> CRS:
        """The tile's CRS."""
        return CRS.from_epsg(self.epsg)

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units."""
        return float(self.transform.a)

    @classmethod
    def from_tile(cls, tile: dict[str, Any]) -> TileGrid:
        """From a stored tile: `epsg`, `origin` (unbuffered upper-left), `resolution`, `widthPx`,
        `heightPx`, `bufferX`, `bufferY` (the extension fields the analysis writes)."""
        res = float(tile["resolution"])
        x0, y0 = tile["origin"]["coordinates"]
        bx, by = int(tile.get("bufferX", 0)), int(tile.get("bufferY", 0))
        transform = Affine(res, 0.0, x0 - bx * res, 0.0, -res, y0 + by * res)
        return cls(
            epsg=int(tile["epsg"]),
            transform=transform,
            width=int(tile["widthPx"]) + 2 * bx,
            height=int(tile["heightPx"]) + 2 * by,
        )

    @classmethod
    def from_tiler(cls, tile: Tile) -> TileGrid:
        """From a tiler Tile (buffered raster)."""
        return cls(epsg=tile.epsg, transform=tile.transform, width=tile.raster_width, height=tile.raster_height)

    def footprint(self) -> Polygon:
        """The buffered raster's outline in WGS84 lon/lat: the area whose scenes the tile reads. The analysis
        counts scenes and the tile searches the catalog with this same polygon, so the counts agree."""
        minx, miny, maxx, maxy = self.bounds()
        lons, lats = _to_wgs84(self.epsg).transform([minx, maxx, maxx, minx], [maxy, maxy, miny, miny])
        return Polygon(zip(lons, lats, strict=True))

    def strips(self, rows_per_strip: int) -> list[Window]:
        """Full-width windows of at most `rows_per_strip` rows covering the tile top to bottom."""
        rows = max(1, rows_per_strip)
        return [
            Window(0, row, self.width, min(rows, self.height - row)) for row in range(0, self.height, rows)
        ]

    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in the tile CRS."""
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)
