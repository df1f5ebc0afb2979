"""Parsing and validation of ``processRequest.input.bounds`` into a WGS84 AOI."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from tiler.crs import WGS84_EPSG, InputCrs, UnsupportedCrsError, parse_crs
from tiler.errors import BOUNDS_FIELD, AOIError
from tiler.geometry import clip, polygonal_part
from tiler.projection import transform_arrays

BBOX_FIELD = f"{BOUNDS_FIELD}.bbox"
GEOMETRY_FIELD = f"{BOUNDS_FIELD}.geometry"
CRS_FIELD = f"{BOUNDS_FIELD}.properties.crs"
#: Edges of AOIs given in another CRS are cut into this many pieces of their extent before reprojection.
_DENSIFY_PIECES = 200
_GEOD = Geod(ellps="WGS84")
_M2_PER_KM2 = 1e6


@dataclass(frozen=True)
class AOI:
    """An area of interest: polygonal, valid, in WGS84 lon/lat, split at the antimeridian."""

    geometry: Polygon | MultiPolygon
    crs_url: str
    area_km2: float


def parse_bounds(bounds: dict[str, Any]) -> AOI:
    """Build an AOI from ``processRequest.input.bounds``; raise AOIError naming the bad field.

    ``bbox`` and ``geometry`` may both be given: the AOI is then their intersection.
    """
    if not isinstance(bounds, dict):
        raise AOIError(BOUNDS_FIELD, "must be an object with 'bbox' and/or 'geometry'")
    properties = bounds.get("properties") or {}
    if not isinstance(properties, dict):
        raise AOIError(f"{BOUNDS_FIELD}.properties", "must be an object")
    try:
        crs = parse_crs(properties.get("crs"))
    except UnsupportedCrsError as exc:
        raise AOIError(CRS_FIELD, str(exc)) from exc

    bbox, geometry = bounds.get("bbox"), bounds.get("geometry")
    if bbox is None and geometry is None:
        raise AOIError(BOUNDS_FIELD, "give 'bbox' and/or 'geometry'")
    shape: BaseGeometry | None = None
    if bbox is not None:
        shape = _parse_bbox(bbox)
    if geometry is not None:
        geom = _parse_geometry(geometry)
        shape = geom if shape is None else polygonal_part(shape.intersection(geom))
        if shape.is_empty:
            raise AOIError(BOUNDS_FIELD, "'bbox' and 'geometry' do not overlap")
    assert shape is not None
    field = GEOMETRY_FIELD if geometry is not None else BBOX_FIELD
    wgs84 = _to_wgs84(shape, crs, field)
    # Geod areas are signed by ring orientation: orient every exterior counter-clockwise first.
    oriented = MultiPolygon([orient(polygon) for polygon in getattr(wgs84, "geoms", [wgs84])])
    area_m2, _ = _GEOD.geometry_area_perimeter(oriented)
    return AOI(wgs84, crs.url, area_m2 / _M2_PER_KM2)


def _parse_bbox(bbox: Any) -> Polygon:
    if not isinstance(bbox, list | tuple) or len(bbox) != 4:
        raise AOIError(BBOX_FIELD, "must be [minx, miny, maxx, maxy]")
    values = _finite_numbers(bbox, BBOX_FIELD)
    minx, miny, maxx, maxy = values
    if minx >= maxx or miny >= maxy:
        raise AOIError(
            BBOX_FIELD,
            f"minx must be < maxx and miny < maxy (got {values}); an AOI crossing the antimeridian "
            "must be given as a geometry with longitudes beyond 180 (e.g. 170 to 190)",
        )
    return shapely.box(minx, miny, maxx, maxy)


def _finite_numbers(values: Any, field: str) -> list[float]:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise AOIError(field, "coordinates must be numbers")
    numbers = [float(v) for v in values]
    if not all(math.isfinite(v) for v in numbers):
        raise AOIError(field, "coordinates must be finite (no NaN or infinity)")
    return numbers


def _parse_geometry(geometry: Any) -> Polygon | MultiPolygon:
    if not isinstance(geometry, dict):
        raise AOIError(GEOMETRY_FIELD, "must be a GeoJSON Polygon or MultiPolygon object")
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        shape: Polygon | MultiPolygon = _parse_polygon(coordinates, f"{GEOMETRY_FIELD}.coordinates")
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise AOIError(f"{GEOMETRY_FIELD}.coordinates", "must be a non-empty list of polygons")
        shape = MultiPolygon([
            _parse_polygon(polygon, f"{GEOMETRY_FIELD}.coordinates[{i}]")
            for i, polygon in enumerate(coordinates)
        ])
    else:
        raise AOIError(f"{GEOMETRY_FIELD}.type", f"must be 'Polygon' or 'MultiPolygon', got {kind!r}")
    if not shape.is_valid:
        raise AOIError(GEOMETRY_FIELD, f"invalid geometry: {shapely.is_valid_reason(shape)}")
    if shape.is_empty or shape.area <= 0:
        raise AOIError(GEOMETRY_FIELD, "geometry has no area")
    return shape


def _parse_polygon(rings: Any, field: str) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise AOIError(field, "a polygon must be a non-empty list of linear rings")
    parsed = [_parse_ring(ring, f"{field}[{i}]") for i, ring in enumerate(rings)]
    return Polygon(parsed[0], parsed[1:])


def _parse_ring(ring: Any, field: str) -> np.ndarray:
    if not isinstance(ring, list) or not all(isinstance(p, list | tuple) and len(p) >= 2 for p in ring):
        raise AOIError(field, "a linear ring must be a list of [x, y] positions")
    if len(ring) < 4:
        raise AOIError(field, f"a linear ring needs at least 4 positions, got {len(ring)}")
    coords = np.array([_finite_numbers(p[:2], field) for p in ring], dtype=float)
    if not np.array_equal(coords[0], coords[-1]):
        raise AOIError(field, "linear ring is not closed (first and last positions differ)")
    return coords


def _to_wgs84(shape: BaseGeometry, crs: InputCrs, field: str) -> Polygon | MultiPolygon:
    if crs.is_geographic:
        _check_latitudes(shape, field)
    if not crs.is_wgs84:
        shape = _reproject_to_wgs84(polygonal_part(shape), crs.epsg, field)
    shape = _split_at_antimeridian(shape, field)
    if not shape.is_valid:
        raise AOIError(field, f"the AOI is not a valid polygon in WGS84: {shapely.is_valid_reason(shape)}")
    return shape


def _reproject_to_wgs84(shape: Polygon | MultiPolygon, epsg: int, field: str) -> MultiPolygon:
    """Reproject ring by ring, densified, with longitudes unwrapped across the antimeridian.

    The result may hold longitudes beyond ±180°; _split_at_antimeridian folds them back.
    """
    minx, miny, maxx, maxy = shape.bounds
    step = max(maxx - minx, maxy - miny) / _DENSIFY_PIECES
    polygons = []
    for polygon in getattr(shape, "geoms", [shape]):
        rings = [_reproject_ring(ring, epsg, step, field) for ring in [polygon.exterior, *polygon.interiors]]
        shell_lon = rings[0][:, 0].mean()
        # Holes are unwrapped on their own: bring each next to its shell.
        shifts = [np.array([360.0 * round((shell_lon - ring[:, 0].mean()) / 360.0), 0.0]) for ring in rings[1:]]
        holes = [ring + shift for ring, shift in zip(rings[1:], shifts, strict=True)]
        polygons.append(Polygon(rings[0], holes))
    return MultiPolygon(polygons)


def _reproject_ring(ring: BaseGeometry, epsg: int, step: float, field: str) -> np.ndarray:
    coords = shapely.get_coordinates(shapely.segmentize(ring, step))
    lon, lat = transform_arrays(epsg, WGS84_EPSG, coords[:, 0], coords[:, 1])
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise AOIError(field, f"the AOI lies outside the valid area of EPSG:{epsg}")
    lon = np.unwrap(lon, period=360.0)
    if abs(lon[-1] - lon[0]) > 1e-6:
        raise AOIError(field, "the AOI encloses a pole, which is not supported: split it or use CRS84")
    return np.column_stack([lon, lat])


def _check_latitudes(shape: BaseGeometry, field: str) -> None:
    _, miny, _, maxy = shape.bounds
    if miny < -90.0 or maxy > 90.0:
        raise AOIError(field, f"latitudes must lie within -90 and 90 (got {miny} to {maxy})")


def _split_at_antimeridian(shape: BaseGeometry, field: str) -> Polygon | MultiPolygon:
    """Cut parts beyond ±180° and shift them by 360° onto the other side."""
    minx, _, maxx, _ = shape.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return polygonal_part(shape)
    if maxx - minx > 360.0 or minx < -540.0 or maxx > 540.0:
        raise AOIError(field, "the AOI spans more than 360° of longitude")
    parts = [
        translate(clip(shape, -540.0, -90.0, -180.0, 90.0), xoff=360.0),
        clip(shape, -180.0, -90.0, 180.0, 90.0),
        translate(clip(shape, 180.0, -90.0, 540.0, 90.0), xoff=-360.0),
    ]
    return polygonal_part(shapely.union_all([p for p in parts if not p.is_empty]))
