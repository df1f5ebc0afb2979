"""STAC catalog search: the scenes of one datasource over an area and time range, in mosaicking order.

One search per request at analysis (the area of every tile footprint), whose items the tiles then read from
the request's cache (workers.scene_cache); a tile searches on its own only when that cache misses.
`maxCloudCoverage` is sent as a server-side `query` and verified client-side; results are sorted client-side
too, so the order never depends on the server's sort support.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import pystac_client
import pystac_client.exceptions
import requests.exceptions
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from evalbatch.profiles import SENTINEL_2_L2A
from workers.errors import InvalidRequestError, TransientError

MOST_RECENT = "mostRecent"
LEAST_RECENT = "leastRecent"
LEAST_CC = "leastCC"
MOSAICKING_ORDERS = (MOST_RECENT, LEAST_RECENT, LEAST_CC)
COLLECTION_ALIASES = {SENTINEL_2_L2A: SENTINEL_2_L2A, "S2L2A": SENTINEL_2_L2A}
RESULTS_TYPE_PREFIX = "batch-"  # `batch-<requestId>`: the outputs of an earlier request (workers.results_stac)
SEARCH_ATTEMPTS = 4
SEARCH_BACKOFF_S = 0.5
PAGE_LIMIT = 500

T = TypeVar("T")


@dataclass(frozen=True)
class CatalogItem:
    """One STAC item as the workers need it."""

    id: str
    datetime: datetime
    cloud_cover: float | None
    epsg: int | None
    baseline: str | None
    mgrs_tile: str | None
    orbit: str | None
    geometry: BaseGeometry
    assets: dict[str, str] = field(default_factory=dict)  # asset key -> href

    @property
    def day(self) -> str:
        """The UTC acquisition day (ORBIT mosaicking merges items of one day)."""
        return self.datetime.date().isoformat()


@dataclass(frozen=True)
class DataFilter:
    """The search part of one `processRequest.input.data[]` entry."""

    collection: str
    time_from: datetime
    time_to: datetime
    max_cloud_coverage: float | None = None
    mosaicking_order: str = MOST_RECENT

    @classmethod
    def from_data(cls, data: dict[str, Any], stac_collection: str) -> DataFilter:
        """Parse `input.data[i]`; the Sentinel-2 L2A type maps to the archive's STAC collection, a
        `batch-<requestId>` type to that results collection of the same catalog."""
        kind = data.get("type", "")
        if is_results_collection(kind):
            stac_collection = kind
        elif COLLECTION_ALIASES.get(kind) != SENTINEL_2_L2A:
            raise InvalidRequestError(f"collection type {kind!r} is not available on this server")
        flt = data.get("dataFilter") or {}
        time_range = flt.get("timeRange") or {}
        if "from" not in time_range or "to" not in time_range:
            raise InvalidRequestError("processRequest.input.data[].dataFilter.timeRange needs 'from' and 'to'")
        order = flt.get("mosaickingOrder") or MOST_RECENT
        if order not in MOSAICKING_ORDERS:
            raise InvalidRequestError(f"mosaickingOrder must be one of {', '.join(MOSAICKING_ORDERS)}")
        max_cc = flt.get("maxCloudCoverage")
        return cls(
            collection=stac_collection,
            time_from=parse_time(time_range["from"]),
            time_to=parse_time(time_range["to"]),
            max_cloud_coverage=None if max_cc is None else float(max_cc),
            mosaicking_order=order,
        )


def is_results_collection(kind: str) -> bool:
    """Whether a data `type` names the results of an earlier request (`batch-<requestId>`)."""
    return kind.startswith(RESULTS_TYPE_PREFIX) and len(kind) > len(RESULTS_TYPE_PREFIX)


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp (with `Z`) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def item_from_stac(feature: dict[str, Any]) -> CatalogItem:
    """A `CatalogItem` from a STAC item dict."""
    props = feature.get("properties", {})
    epsg = props.get("proj:epsg")
    code = props.get("proj:code")
    if epsg is None and isinstance(code, str) and code.upper().startswith("EPSG:"):
        epsg = int(code.split(":")[1])
    orbit = props.get("sat:relative_orbit")
    return CatalogItem(
        id=feature["id"],
        datetime=parse_time(props["datetime"]),
        cloud_cover=props.get("eo:cloud_cover"),
        epsg=int(epsg) if epsg is not None else None,
        baseline=props.get("s2:processing_baseline"),
        mgrs_tile=props.get("s2:mgrs_tile"),
        orbit=str(orbit) if orbit is not None else _orbit_from_id(feature["id"]),
        geometry=shape(feature["geometry"]),
        assets={key: asset["href"] for key, asset in feature.get("assets", {}).items()},
    )


def _orbit_from_id(item_id: str) -> str | None:
    for part in item_id.split("_"):
        if len(part) == 4 and part[0] == "R" and part[1:].isdigit():
            return part[1:]
    return None


def accept(item: CatalogItem, flt: DataFilter) -> bool:
    """Client-side check of the filter (time range inclusive, cloud cover)."""
    if not flt.time_from <= item.datetime <= flt.time_to:
        return False
    if flt.max_cloud_coverage is None:
        return True
    return item.cloud_cover is not None and item.cloud_cover <= flt.max_cloud_coverage


def sort_items(items: Sequence[CatalogItem], order: str) -> list[CatalogItem]:
    """Items in mosaicking order: mostRecent (newest first), leastRecent, leastCC (then newest first)."""
    by_date = sorted(items, key=lambda i: (i.datetime, i.id), reverse=order != LEAST_RECENT)
    if order == LEAST_CC:
        return sorted(by_date, key=lambda i: 100.0 if i.cloud_cover is None else i.cloud_cover)
    return by_date


def _retrying(call: Callable[[], T], stac_url: str) -> T:
    delay = SEARCH_BACKOFF_S
    for attempt in range(SEARCH_ATTEMPTS):
        try:
            return call()
        except (pystac_client.exceptions.APIError, requests.exceptions.RequestException) as exc:
            status = getattr(exc, "status_code", None)
            if status is not None and 400 <= int(status) < 500 and int(status) != 429:
                raise
            if attempt == SEARCH_ATTEMPTS - 1:
                raise TransientError(
                    f"STAC search failed after {SEARCH_ATTEMPTS} attempts, STAC API {stac_url} unavailable: {exc}"
                ) from exc
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def search(stac_url: str, flt: DataFilter, geometry: dict[str, Any]) -> list[CatalogItem]:
    """All items of `flt` intersecting `geometry` (GeoJSON, WGS84), filtered and in mosaicking order."""

    def run(with_query: bool) -> list[dict[str, Any]]:
        client = pystac_client.Client.open(stac_url)
        kwargs: dict[str, Any] = {}
        if with_query and flt.max_cloud_coverage is not None:
            kwargs["query"] = {"eo:cloud_cover": {"lte": flt.max_cloud_coverage}}
        found = client.search(
            collections=[flt.collection],
            intersects=geometry,
            datetime=[flt.time_from, flt.time_to],
            limit=PAGE_LIMIT,
            **kwargs,
        )
        return list(found.items_as_dicts())

    try:
        features = _retrying(lambda: run(True), stac_url)
    except pystac_client.exceptions.APIError:
        features = _retrying(lambda: run(False), stac_url)  # a server without the query extension
    items = [item_from_stac(f) for f in features]
    return sort_items([i for i in items if accept(i, flt)], flt.mosaicking_order)
