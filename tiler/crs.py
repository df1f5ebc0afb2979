"""Parsing of the CRS strings accepted in ``input.bounds.properties.crs``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS
from pyproj.exceptions import CRSError

CRS84_URL = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URL_TEMPLATE = "http://www.opengis.net/def/crs/EPSG/0/{code}"
WGS84_EPSG = 4326

_CRS84_PATTERNS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84$", re.IGNORECASE),
    re.compile(r"^urn:ogc:def:crs:OGC:(?:1\.3)?:CRS84$", re.IGNORECASE),
    re.compile(r"^(?:OGC:)?CRS84$", re.IGNORECASE),
)
_EPSG_PATTERNS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$", re.IGNORECASE),
    re.compile(r"^urn:ogc:def:crs:EPSG:[0-9.]*:(\d+)$", re.IGNORECASE),
    re.compile(r"^EPSG:(\d+)$", re.IGNORECASE),
)


@dataclass(frozen=True)
class InputCrs:
    """A parsed bounds CRS. Coordinates are always read in x/lon, y/lat order."""

    url: str
    epsg: int
    is_wgs84: bool
    is_geographic: bool


class UnsupportedCrsError(ValueError):
    """The CRS string is not one evalbatch understands."""


def parse_crs(value: str | None) -> InputCrs:
    """Parse an OGC URL / URN / ``EPSG:n`` string; None means CRS84."""
    if value is None:
        return InputCrs(CRS84_URL, WGS84_EPSG, is_wgs84=True, is_geographic=True)
    if not isinstance(value, str):
        raise UnsupportedCrsError(f"CRS must be a string, got {type(value).__name__}")
    text = value.strip()
    if any(p.match(text) for p in _CRS84_PATTERNS):
        return InputCrs(CRS84_URL, WGS84_EPSG, is_wgs84=True, is_geographic=True)
    for pattern in _EPSG_PATTERNS:
        match = pattern.match(text)
        if match:
            return _epsg_crs(int(match.group(1)))
    raise UnsupportedCrsError(
        f"unsupported CRS {value!r}: use {CRS84_URL} or http://www.opengis.net/def/crs/EPSG/0/<code>"
    )


@lru_cache(maxsize=256)
def _epsg_crs(code: int) -> InputCrs:
    try:
        crs = CRS.from_epsg(code)
    except CRSError as exc:
        raise UnsupportedCrsError(f"unknown EPSG code {code}") from exc
    if not (crs.is_projected or crs.is_geographic) or len(crs.axis_info) != 2:
        raise UnsupportedCrsError(f"EPSG:{code} is not a 2D geographic or projected CRS")
    return InputCrs(
        EPSG_URL_TEMPLATE.format(code=code), code,
        is_wgs84=code == WGS84_EPSG, is_geographic=crs.is_geographic,
    )
