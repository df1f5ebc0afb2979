"""The rules of the STAC projection extension (v1.2.0 and v2.0.0), checked offline.

No installed or installable package ships the extension's JSON schema (pystac-ext-projection 2.0.1, stac-pydantic
3.7.1, stac-validator 4.1.2 and stac-check 1.14.0 carry none; pystac and the validators fetch it over HTTP), so
the rules the extension documents are checked here:

- only the extension's fields may use the `proj:` prefix, and only when the extension is declared in
  `stac_extensions`; `proj:epsg` (an integer) exists in v1.2.0 only (deprecated there, removed in v2.0.0);
- `proj:code` is `AUTHORITY:CODE` (or null) and names a CRS PROJ knows; with `proj:epsg` it names the same EPSG code;
- `proj:wkt2` is a string, `proj:projjson` an object, `proj:geometry` a GeoJSON geometry (each or null);
- `proj:centroid` is `{lat, lon}` in degrees;
- `proj:shape` is `[rows, cols]` of positive integers;
- `proj:transform` is 6 or 9 numbers (the last three `0, 0, 1`), an invertible affine transform;
- `proj:bbox` is 4 or 6 numbers, minimums first; with `proj:transform` and `proj:shape` it is the extent of that
  grid; at item level it is the item's extent in the item's CRS, so it contains the item's WGS84 geometry
  projected into `proj:code`.

The fields apply to item properties, each asset of an item (asset fields override the item's) and the assets and
item_assets of collections.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import shapely
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.errors import GeometryTypeError
from shapely.geometry import box, shape

PROJECTION_V1_2 = "https://stac-extensions.github.io/projection/v1.2.0/schema.json"
PROJECTION_V2_0 = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
PREFIX = "proj:"
V2_FIELDS = frozenset(
    {"proj:code", "proj:wkt2", "proj:projjson", "proj:geometry", "proj:bbox", "proj:centroid", "proj:shape",
     "proj:transform"}
)
FIELDS_BY_VERSION = {PROJECTION_V1_2: V2_FIELDS | {"proj:epsg"}, PROJECTION_V2_0: V2_FIELDS}
CODE_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z0-9_.-]+")
AFFINE_LAST_ROW = (0, 0, 1)
WGS84 = "EPSG:4326"
# proj:bbox equals the grid's extent up to this share of a pixel (rounding of the numbers)...
EXTENT_TOLERANCE_PX = 1e-3
# ...and contains the item geometry up to this share of a pixel (WGS84 coordinates are rounded, ~0.1 m at 1e-6°).
CONTAINMENT_TOLERANCE_PX = 0.5
# Without proj:transform, a pixel is taken as this share of the larger side of proj:bbox.
BBOX_SHARE_WITHOUT_GRID = 1e-4


class ProjectionError(ValueError):
    """A STAC document breaks a rule of the projection extension."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(value: Any, lengths: tuple[int, ...]) -> bool:
    return isinstance(value, list) and len(value) in lengths and all(_is_number(v) for v in value)


def _check_code(code: Any) -> None:
    if code is None:
        return
    if not (isinstance(code, str) and CODE_PATTERN.fullmatch(code)):
        raise ProjectionError(f"proj:code must be an 'AUTHORITY:CODE' string or null, not {code!r}")
    problem = _unknown_crs(code)
    if problem is not None:
        raise ProjectionError(f"proj:code {code} is not a CRS known to PROJ: {problem}")


@lru_cache(maxsize=64)
def _unknown_crs(code: str) -> str | None:
    """Why PROJ does not know the CRS `code`, or None when it does."""
    try:
        CRS.from_user_input(code)
    except CRSError as error:
        return str(error)
    return None


def _check_epsg(epsg: Any) -> None:
    if epsg is not None and not (isinstance(epsg, int) and not isinstance(epsg, bool) and epsg > 0):
        raise ProjectionError(f"proj:epsg must be a positive integer or null, not {epsg!r}")


def _check_optional(name: str, expected: type) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if value is not None and not isinstance(value, expected):
            raise ProjectionError(f"{name} must be a {expected.__name__} or null, not {type(value).__name__}")

    return check


def _check_geometry(geometry: Any) -> None:
    try:
        shape(geometry)
    except (AttributeError, GeometryTypeError, KeyError, TypeError, ValueError) as error:
        raise ProjectionError(f"proj:geometry must be a GeoJSON geometry: {error}") from error


def _check_centroid(centroid: Any) -> None:
    if not (isinstance(centroid, dict) and _is_number(centroid.get("lat")) and _is_number(centroid.get("lon"))
            and -90 <= centroid["lat"] <= 90 and -180 <= centroid["lon"] <= 180):
        raise ProjectionError(f"proj:centroid must be {{lat, lon}} in degrees, not {centroid!r}")


def _check_shape(rows_cols: Any) -> None:
    if not (isinstance(rows_cols, list) and len(rows_cols) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in rows_cols)):
        raise ProjectionError(f"proj:shape must be [rows, cols] of positive integers, not {rows_cols!r}")


def _check_transform(transform: Any) -> None:
    if not _numbers(transform, (6, 9)):
        raise ProjectionError(f"proj:transform must be 6 or 9 numbers, not {transform!r}")
    if len(transform) == 9 and tuple(transform[6:]) != AFFINE_LAST_ROW:
        raise ProjectionError(f"proj:transform of 9 numbers must end with 0, 0, 1, not {transform[6:]!r}")
    if Affine(*transform[:6]).is_degenerate:
        raise ProjectionError(f"proj:transform {transform!r} is not invertible")


def _check_bbox(bbox: Any) -> None:
    if not _numbers(bbox, (4, 6)):
        raise ProjectionError(f"proj:bbox must be 4 or 6 numbers, not {bbox!r}")
    half = len(bbox) // 2
    if any(low > high for low, high in zip(bbox[:half], bbox[half:], strict=True)):
        raise ProjectionError(f"proj:bbox must list the minimums first, not {bbox!r}")


FIELD_CHECKS: dict[str, Callable[[Any], None]] = {
    "proj:code": _check_code,
    "proj:epsg": _check_epsg,
    "proj:wkt2": _check_optional("proj:wkt2", str),
    "proj:projjson": _check_optional("proj:projjson", dict),
    "proj:geometry": _check_geometry,
    "proj:centroid": _check_centroid,
    "proj:shape": _check_shape,
    "proj:transform": _check_transform,
    "proj:bbox": _check_bbox,
}


def _plane_bbox(bbox: list[float]) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a 2D or 3D bbox."""
    if len(bbox) == 6:
        return bbox[0], bbox[1], bbox[3], bbox[4]
    return bbox[0], bbox[1], bbox[2], bbox[3]


def grid_extent(transform: list[float], rows_cols: list[int]) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of the grid of `rows_cols` pixels placed by `transform`."""
    grid = Affine(*transform[:6])
    rows, cols = rows_cols
    xs, ys = zip(*(grid @ corner for corner in ((0, 0), (cols, 0), (0, rows), (cols, rows))), strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def _pixel_size(fields: Mapping[str, Any], extent: tuple[float, float, float, float]) -> float:
    transform = fields.get("proj:transform")
    if transform is not None:
        return max(abs(transform[0]), abs(transform[1]), abs(transform[3]), abs(transform[4]))
    return BBOX_SHARE_WITHOUT_GRID * max(extent[2] - extent[0], extent[3] - extent[1])


@lru_cache(maxsize=64)
def _from_wgs84(code: str) -> Transformer:
    return Transformer.from_crs(WGS84, code, always_xy=True)


def _check_consistency(fields: Mapping[str, Any], item_geometry: Mapping[str, Any] | None) -> None:
    code, epsg = fields.get("proj:code"), fields.get("proj:epsg")
    if code is not None and epsg is not None and code != f"EPSG:{epsg}":
        raise ProjectionError(f"proj:code {code} and proj:epsg {epsg} name different CRSs")
    bbox = fields.get("proj:bbox")
    if bbox is None:
        return
    extent = _plane_bbox(bbox)
    pixel = _pixel_size(fields, extent)
    transform, rows_cols = fields.get("proj:transform"), fields.get("proj:shape")
    if transform is not None and rows_cols is not None:
        expected = grid_extent(transform, rows_cols)
        tolerance = EXTENT_TOLERANCE_PX * pixel
        if not all(math.isclose(a, b, abs_tol=tolerance) for a, b in zip(extent, expected, strict=True)):
            raise ProjectionError(f"proj:bbox {bbox} is not the extent {list(expected)} of proj:transform and "
                                  f"proj:shape {rows_cols}")
    crs = code if code is not None else (f"EPSG:{epsg}" if epsg is not None else None)
    if item_geometry is not None and crs is not None:
        projected = shapely.transform(shape(item_geometry), _from_wgs84(crs).transform, interleaved=False)
        margin = CONTAINMENT_TOLERANCE_PX * pixel
        west, south, east, north = extent
        if not box(west - margin, south - margin, east + margin, north + margin).contains(projected):
            raise ProjectionError(f"proj:bbox {bbox} does not contain the item's geometry projected to {crs} "
                                  f"(bounds {list(projected.bounds)})")


def _proj_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key.startswith(PREFIX)}


def _field_holders(document: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(where, effective proj fields, is the item level) of every place the document may hold the fields."""
    if document.get("type") == "Feature":
        item_fields = _proj_fields(document.get("properties") or {})
        yield "properties", item_fields, True
        for key, asset in (document.get("assets") or {}).items():
            if _proj_fields(asset):
                yield f"assets.{key}", {**item_fields, **_proj_fields(asset)}, False
        return
    for section in ("assets", "item_assets"):
        for key, asset in (document.get(section) or {}).items():
            yield f"{section}.{key}", _proj_fields(asset), False


def check_projection(document: Mapping[str, Any]) -> None:
    """Raise ProjectionError unless the `proj:` fields of a STAC item or collection follow the extension's rules."""
    declared = [url for url in document.get("stac_extensions") or [] if url in FIELDS_BY_VERSION]
    allowed = frozenset().union(*(FIELDS_BY_VERSION[url] for url in declared))
    geometry = document.get("geometry")
    for where, fields, item_level in _field_holders(document):
        if fields and not declared:
            raise ProjectionError(f"{where}: {sorted(fields)} used without the projection extension in "
                                  "stac_extensions")
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise ProjectionError(f"{where}: {unknown} are not fields of the projection extension {declared}")
        try:
            for name, value in fields.items():
                FIELD_CHECKS[name](value)
            _check_consistency(fields, geometry if item_level else None)
        except ProjectionError as error:
            raise ProjectionError(f"{where}: {error}") from error
