"""The Tile value object: one grid cell at a resolution, with optional pixel buffers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from affine import Affine
from shapely.geometry import Polygon, mapping, shape

#: Decimal places kept when coordinates are serialised (about 0.1 m in degrees, 1 µm in metres).
FOOTPRINT_DECIMALS = 6
_SIZE_DECIMALS = 9


@dataclass(frozen=True, slots=True)
class Tile:
    """A grid cell to process; ``origin`` is the unbuffered upper-left corner in the grid CRS.

    ``footprint`` is the unbuffered cell in WGS84 lon/lat (corners UL, UR, LR, LL). Cells of UTM
    zones 1 and 60 that reach past the antimeridian keep continuous longitudes (e.g. -180.3).
    """

    id: int
    name: str
    epsg: int
    origin: tuple[float, float]
    resolution: float
    width_px: int
    height_px: int
    buffer_x: int
    buffer_y: int
    footprint: Polygon

    @property
    def raster_width(self) -> int:
        """Raster width in pixels, buffer included on both sides."""
        return self.width_px + 2 * self.buffer_x

    @property
    def raster_height(self) -> int:
        """Raster height in pixels, buffer included on both sides."""
        return self.height_px + 2 * self.buffer_y

    @property
    def tile_width(self) -> float:
        """Unbuffered width in grid units."""
        return round(self.width_px * self.resolution, _SIZE_DECIMALS)

    @property
    def tile_height(self) -> float:
        """Unbuffered height in grid units."""
        return round(self.height_px * self.resolution, _SIZE_DECIMALS)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Buffered raster bounds (minx, miny, maxx, maxy) in the grid CRS (grids-and-cost.md §2.1)."""
        x0, y0 = self.origin
        bx = self.buffer_x * self.resolution
        by = self.buffer_y * self.resolution
        return (x0 - bx, y0 - self.tile_height - by, x0 + self.tile_width + bx, y0 + by)

    @property
    def transform(self) -> Affine:
        """Affine transform of the buffered raster (north-up)."""
        minx, _, _, maxy = self.bounds
        return Affine(self.resolution, 0.0, minx, 0.0, -self.resolution, maxy)

    @property
    def crs_urn(self) -> str:
        """The tile CRS as an OGC URN, e.g. ``urn:ogc:def:crs:EPSG::32633``."""
        return f"urn:ogc:def:crs:EPSG::{self.epsg}"

    def origin_geojson(self) -> dict[str, Any]:
        """The v1 tile ``origin``: GeoJSON Point of the upper-left corner with a named CRS."""
        return {
            "type": "Point",
            "coordinates": [float(self.origin[0]), float(self.origin[1])],
            "crs": {"type": "name", "properties": {"name": self.crs_urn}},
        }

    def footprint_geojson(self) -> dict[str, Any]:
        """The unbuffered cell in WGS84 lon/lat as a GeoJSON Polygon (rounded)."""
        ring = [[round(x, FOOTPRINT_DECIMALS), round(y, FOOTPRINT_DECIMALS)]
                for x, y in self.footprint.exterior.coords]
        return {"type": "Polygon", "coordinates": [ring]}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (full precision) for stores and job payloads; see ``from_dict``."""
        return {
            "id": self.id, "name": self.name, "epsg": self.epsg, "origin": list(self.origin),
            "resolution": self.resolution, "width_px": self.width_px, "height_px": self.height_px,
            "buffer_x": self.buffer_x, "buffer_y": self.buffer_y, "footprint": mapping(self.footprint),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tile:
        """Rebuild a Tile from ``to_dict`` output."""
        footprint = shape(data["footprint"])
        if not isinstance(footprint, Polygon):
            raise ValueError(f"tile footprint must be a Polygon, got {footprint.geom_type}")
        x, y = data["origin"]
        return cls(
            int(data["id"]), str(data["name"]), int(data["epsg"]), (float(x), float(y)),
            float(data["resolution"]), int(data["width_px"]), int(data["height_px"]),
            int(data["buffer_x"]), int(data["buffer_y"]), footprint,
        )
