"""Results as STAC, live: every delivered tile becomes an item of the collection `batch-<requestId>`.

The item id is the tile name, its geometry the tile footprint (WGS84), its time the request's time range
(`datetime` = the range start, plus `start_datetime`/`end_datetime`), its projection the COG grid (buffer
included) and it has one asset per output, keyed by the output identifier with the `s3://` href written.
Provenance properties (`evalbatch:*`) name the evalscript hash, the scenes read, the package version, the
request and the tile.

Validation works offline: pystac bundles the STAC core JSON schemas, so documents are validated against
the core schema with jsonschema-rs (extension schema URLs are left out of that check: they would be fetched
over HTTP), and the projection fields against the projection extension's rules (workers.stac_projection).
Items declare projection v1.2.0: it has `proj:code` and still allows the deprecated `proj:epsg` that many
clients read (v2.0.0 forbids it).

Registration never fails a tile (the COG is the product): `publish_tiles` registers the items of a batch of
tiles in one call (bulk upsert) and returns an error message per tile instead of raising, which the tile job
stores as `stacError` on the tile's run record; once the request is final, a control job
(`workers.jobs.register_results`, retried with backoff) registers the items that are still missing.

Chaining: a later request may use `"type": "batch-<requestId>"` as its input data. Its evalscript bands are
then the output identifiers of the earlier request (the asset keys: `default`, `index`, ...), each read from
band 1 of that COG, as stored (no unit conversion, no cloud masking: there is no SCL). As for Sentinel-2
digital numbers, a value of 0 counts as no data (dataMask 0); the items' datetime is the earlier request's
time range start, so the later request's time range must include it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx
import jsonschema_rs
import pystac.errors
from pyproj import Transformer
from pystac import STACObjectType
from pystac.serialization import identify_stac_object
from pystac.validation.local_validator import get_local_schema_cache
from pystac.validation.schema_uri_map import DefaultSchemaUriMap
from shapely.geometry import shape

from evalbatch.profiles import DN, BandSpec, CollectionProfile
from evalbatch.settings import Settings
from evalbatch.spec import USERDATA_ID, JobSpec
from workers.stac_projection import PROJECTION_V1_2, ProjectionError, check_projection
from workers.tilegrid import TileGrid

RESULTS_COLLECTION_PREFIX = "batch-"
STAC_VERSION = "1.1.0"  # the core schemas pystac bundles (validation offline)
PROJECTION_EXTENSION = PROJECTION_V1_2  # proj:code and the deprecated proj:epsg
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
JSON_MEDIA_TYPE = "application/json"
PACKAGE = "evalbatch"
HTTP_TIMEOUT_S = 15.0
WGS84 = "EPSG:4326"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
WORLD_BBOX = [-180.0, -90.0, 180.0, 90.0]

log = logging.getLogger(__name__)


@cache
def tls_context() -> ssl.SSLContext:
    """The SSL context of the catalog client, made once per process (loading the CA bundle costs more than a
    whole registration; `prepare` makes it before the rq fork)."""
    return httpx.create_ssl_context()


class OutputBands(Mapping[str, BandSpec]):
    """The bands of a results collection: any band name is the output (asset) of that id, read as stored."""

    def __getitem__(self, band: str) -> BandSpec:
        return BandSpec(band, band, 0, "float32", DN)

    def __iter__(self) -> Iterator[str]:
        return iter(())  # the outputs are only known from the items

    def __len__(self) -> int:
        return 0


def results_profile(collection_id: str) -> CollectionProfile:
    """The collection profile of a `batch-<requestId>` collection (band name = output id = asset key)."""
    return CollectionProfile(collection_id, "results", OutputBands())


class StacDocumentError(ValueError):
    """A results collection or item is not valid STAC."""


def results_collection_id(request_id: str) -> str:
    """The STAC collection holding the outputs of one request."""
    return f"{RESULTS_COLLECTION_PREFIX}{request_id}"


@cache
def package_version() -> str:
    """The installed evalbatch version (`unknown` when running from an uninstalled tree)."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "unknown"


def evalscript_sha256(evalscript: str) -> str:
    """Hex SHA-256 of the evalscript text (UTF-8)."""
    return hashlib.sha256(evalscript.encode("utf-8")).hexdigest()


def time_range(spec: JobSpec) -> tuple[str, str]:
    """(from, to) of the request's first datasource, as given (ISO 8601)."""
    data_filter = spec.data[0].get("dataFilter") or {}
    span = data_filter.get("timeRange") or {}
    return str(span["from"]), str(span["to"])


def request_bbox(spec: JobSpec) -> list[float]:
    """The request's AOI bounding box in WGS84 (the world when it cannot be worked out)."""
    bounds = spec.bounds
    crs = (bounds.get("properties") or {}).get("crs") or CRS84
    if "bbox" in bounds:
        x0, y0, x1, y1 = (float(v) for v in bounds["bbox"])
    elif "geometry" in bounds:
        x0, y0, x1, y1 = shape(bounds["geometry"]).bounds
    else:
        return list(WORLD_BBOX)
    if crs in (CRS84, WGS84) or crs.endswith("CRS84"):
        return [x0, y0, x1, y1]
    epsg = crs.rstrip("/").rsplit("/", 1)[-1]
    transformer = Transformer.from_crs(f"EPSG:{epsg}", WGS84, always_xy=True)
    return list(transformer.transform_bounds(x0, y0, x1, y1, densify_pts=21))


def collection_document(request_id: str, spec: JobSpec) -> dict[str, Any]:
    """The `batch-<requestId>` collection: extent = the request's AOI and time range."""
    start, end = time_range(spec)
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": results_collection_id(request_id),
        "title": f"evalbatch results of request {request_id}",
        "description": "One item per processed tile of an evalbatch batch request; one asset per output.",
        "license": "other",
        "extent": {
            "spatial": {"bbox": [request_bbox(spec)]},
            "temporal": {"interval": [[start, end]]},
        },
        "links": [],
        "summaries": {"evalbatch:request_id": [request_id]},
    }


def _asset(output_id: str, href: str) -> dict[str, Any]:
    if output_id == USERDATA_ID:
        return {"href": href, "type": JSON_MEDIA_TYPE, "roles": ["metadata"], "title": output_id}
    return {"href": href, "type": COG_MEDIA_TYPE, "roles": ["data"], "title": output_id}


def item_document(
    request_id: str, spec: JobSpec, tile: Mapping[str, Any], outputs: Mapping[str, str], scenes: list[str],
    stac_url: str,
) -> dict[str, Any]:
    """The STAC item of one delivered tile; `outputs` maps output id -> href, `scenes` are the items read.

    `stac_url` is the catalog's root (for the item's `collection` link, which STAC requires)."""
    grid = TileGrid.from_tile(dict(tile))
    start, end = time_range(spec)
    geometry = tile["geometry"]
    coordinates = [point for ring in geometry["coordinates"] for point in ring]
    xs, ys = [p[0] for p in coordinates], [p[1] for p in coordinates]
    properties = {
        "datetime": start,
        "start_datetime": start,
        "end_datetime": end,
        "proj:code": f"EPSG:{grid.epsg}",
        "proj:epsg": grid.epsg,  # projection v1 spelling, still read by many clients
        "proj:shape": [grid.height, grid.width],
        "proj:transform": list(grid.transform)[:6],
        "proj:bbox": list(grid.bounds()),
        "evalbatch:evalscript_sha256": evalscript_sha256(spec.evalscript),
        "evalbatch:input_items": list(scenes),
        "evalbatch:version": package_version(),
        "evalbatch:request_id": request_id,
        "evalbatch:tile_id": int(tile["id"]),
    }
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [PROJECTION_EXTENSION],
        "id": str(tile["name"]),
        "collection": results_collection_id(request_id),
        "geometry": geometry,
        "bbox": [min(xs), min(ys), max(xs), max(ys)],
        "properties": properties,
        "links": [{"rel": "collection", "type": JSON_MEDIA_TYPE,
                   "href": f"{stac_url.rstrip('/')}/collections/{results_collection_id(request_id)}"}],
        "assets": {output_id: _asset(output_id, href) for output_id, href in outputs.items()},
    }


@cache
def core_validator(object_type: str, stac_version: str) -> jsonschema_rs.Validator | None:
    """The validator of a STAC core schema bundled with pystac (offline), built and checked once per process
    (jsonschema-rs: validating an item takes microseconds, where the pure-Python validator took milliseconds per
    tile); None when pystac bundles no schema for that type and version."""
    schemas = get_local_schema_cache()
    uri = DefaultSchemaUriMap().get_object_schema_uri(STACObjectType(object_type), stac_version)
    if uri not in schemas:
        return None
    jsonschema_rs.meta.validate(schemas[uri])
    return jsonschema_rs.validator_for(schemas[uri], registry=jsonschema_rs.Registry(list(schemas.items())))


def _validate_core(document: dict[str, Any]) -> None:
    info = identify_stac_object(document)
    version = str(info.version_range.latest_valid_version())
    validator = core_validator(info.object_type.value, version)
    if validator is None:
        raise StacDocumentError(f"{document.get('id')}: no offline STAC {version} schema for "
                                f"{info.object_type.value} documents")
    # through JSON as pystac does: tuples (e.g. shapely coordinates) are valid JSON arrays
    error = next(validator.iter_errors(json.loads(json.dumps(document))), None)
    if error is not None:
        where = "/".join(str(part) for part in error.instance_path) or "the document"
        raise StacDocumentError(f"{document.get('id')}: validation failed for {info.object_type.value} against "
                                f"the STAC {version} core schema at {where}: {error.message}")


def validate_document(document: Mapping[str, Any]) -> None:
    """Validate a collection or item: STAC core schema (pystac's bundled schemas, offline) + the projection
    extension's rules (workers.stac_projection).

    Raises StacDocumentError with the reason when the document is invalid.
    """
    core = {**document, "stac_extensions": []}
    try:
        _validate_core(core)
    except pystac.errors.STACTypeError as error:  # not an item or collection of a known STAC version
        raise StacDocumentError(f"{document.get('id')}: {error}") from error
    try:
        check_projection(document)
    except ProjectionError as error:
        raise StacDocumentError(f"{document.get('id')}: {error}") from error


class ResultsCatalog:
    """Writes results collections and items through the STAC API transactions extension."""

    def __init__(self, stac_url: str, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(base_url=stac_url.rstrip("/"), timeout=HTTP_TIMEOUT_S,
                                              verify=tls_context())

    def __enter__(self) -> ResultsCatalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close()

    def ensure_collection(self, document: Mapping[str, Any]) -> bool:
        """Create the collection unless it exists (or was created concurrently); True if created here."""
        if self._client.get(f"/collections/{document['id']}").status_code == 200:
            return False
        validate_document(document)
        response = self._client.post("/collections", json=dict(document))
        if response.status_code == 409:
            return False
        response.raise_for_status()
        return True

    def upsert_items(self, collection_id: str, items: list[Mapping[str, Any]]) -> dict[str, str]:
        """Create or replace `items` in one call (the bulk transactions extension, method upsert); returns item
        id -> the catalog's message for each item it refused."""
        body = {"items": {item["id"]: dict(item) for item in items}, "method": "upsert"}
        response = self._client.post(f"/collections/{collection_id}/bulk_items", json=body)
        response.raise_for_status()
        refused = response.json().get("errors") or []
        return {str(error.get("id")): str(error.get("msg")) for error in refused}


@dataclass(frozen=True)
class DeliveredTile:
    """A tile whose outputs are written: what its results item is made of."""

    tile: Mapping[str, Any]
    outputs: Mapping[str, str]  # output id -> URL
    scenes: list[str]  # ids of the items read

    @property
    def tile_id(self) -> int:
        """The tile's id."""
        return int(self.tile["id"])


def _error_message(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def publish_tiles(
    settings: Settings, request_id: str, spec: JobSpec, delivered: list[DeliveredTile]
) -> dict[int, str | None]:
    """Validate the items of delivered tiles and register them in one call (creating the collection first,
    validated, when it does not exist yet). Never raises: returns tile id -> None when registered (or nothing to
    register), else the error message (the COG is the product: a catalog problem never fails a tile)."""
    errors: dict[int, str | None] = {}
    items: dict[int, dict[str, Any]] = {}
    for tile in delivered:
        errors[tile.tile_id] = None
        if not tile.outputs:
            continue
        try:
            item = item_document(request_id, spec, tile.tile, tile.outputs, tile.scenes, settings.stac_url)
            validate_document(item)
        except Exception as error:
            errors[tile.tile_id] = _error_message(error)
            continue
        items[tile.tile_id] = item
    if not items:
        return errors
    try:
        with ResultsCatalog(settings.stac_url) as catalog:
            catalog.ensure_collection(collection_document(request_id, spec))  # validated when created here
            refused = catalog.upsert_items(results_collection_id(request_id), list(items.values()))
    except Exception as error:
        log.warning("STAC registration of %d tiles of %s failed: %s", len(items), request_id, error)
        return errors | dict.fromkeys(items, _error_message(error))
    for tile_id, item in items.items():
        if item["id"] in refused:
            errors[tile_id] = f"the catalog refused item {item['id']}: {refused[item['id']]}"[:2000]
    return errors


def prepare() -> None:
    """Build what every registration would otherwise repeat, once per process: the SSL context, the core
    validators of items and collections and the package version. workers.launch calls it in the rq worker before
    it forks, so that work horses inherit them; elsewhere they are built on first use."""
    tls_context()
    for object_type in (STACObjectType.ITEM, STACObjectType.COLLECTION):
        core_validator(object_type.value, STAC_VERSION)
    package_version()
