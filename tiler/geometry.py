"""Small shapely helpers shared by the AOI parser and the tilers."""

from __future__ import annotations

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

_POLYGON_TYPES = (Polygon, MultiPolygon)


def polygonal_part(geometry: BaseGeometry) -> MultiPolygon | Polygon:
    """Keep only the areal parts of ``geometry`` (drop points and lines from touching intersections)."""
    if isinstance(geometry, _POLYGON_TYPES):
        return geometry
    polygons: list[Polygon] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Polygon):
            polygons.append(part)
        elif isinstance(part, MultiPolygon):
            polygons.extend(part.geoms)
    polygons = [p for p in polygons if not p.is_empty and p.area > 0]
    if not polygons:
        return Polygon()
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def clip(geometry: BaseGeometry, minx: float, miny: float, maxx: float, maxy: float
         ) -> MultiPolygon | Polygon:
    """Areal part of ``geometry`` inside the rectangle."""
    return polygonal_part(shapely.intersection(geometry, shapely.box(minx, miny, maxx, maxy)))
