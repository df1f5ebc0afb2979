"""v2 feature manifest `featureManifest-<requestId>.gpkg` (batch-api.md §5.8), uploaded at analysis."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from shapely.geometry import box

from evalbatch.objectstore import S3Credentials, s3_client, upload_file
from evalbatch.settings import Settings
from evalbatch.spec import JobSpec
from evalbatch.store import Store
from evaluator import Evalscript
from workers.geopackage import Column, write_geopackage
from workers.tilegrid import TileGrid

COLUMNS = (
    Column("outputId", "TEXT"),
    Column("identifier", "TEXT"),
    Column("path", "TEXT"),
    Column("width", "INTEGER"),
    Column("height", "INTEGER"),
)
GPKG_TYPE = "application/geopackage+sqlite3"


def manifest_name(request_id: str) -> str:
    """Object name of the manifest in the delivery root."""
    return f"featureManifest-{request_id}.gpkg"


def manifest_rows(
    spec: JobSpec, request_id: str, tiles: list[dict[str, Any]], output_ids: list[str]
) -> dict[int, list[dict[str, Any]]]:
    """EPSG code -> one row per (tile, output), with the tile's raster bounds in its CRS as geometry."""
    tables: dict[int, list[dict[str, Any]]] = {}
    for tile in tiles:
        grid = TileGrid.from_tile(tile)
        geometry = box(*grid.bounds())
        for output_id in output_ids:
            tables.setdefault(grid.epsg, []).append(
                {
                    "outputId": output_id,
                    "identifier": tile["name"],
                    "path": spec.output_path(output_id, request_id, tile["name"], int(tile["id"])),
                    "width": grid.width,
                    "height": grid.height,
                    "geometry": geometry,
                }
            )
    return tables


def upload_feature_manifest(
    store: Store, settings: Settings, request_id: str, spec: JobSpec, tiles: list[dict[str, Any]],
    script: Evalscript,
) -> str:
    """Write and upload the manifest; returns its URL."""
    output_ids = [o.id for o in script.outputs]
    if any(r.get("identifier") == "userdata" for r in spec.responses):
        output_ids.append("userdata")
    url = (spec.delivery_root or "").rstrip("/") + "/" + manifest_name(request_id)
    creds = S3Credentials.from_settings(settings).with_secrets(store.get_secrets(request_id))
    with tempfile.TemporaryDirectory(prefix="manifest-") as tmp:
        path = Path(tmp) / manifest_name(request_id)
        write_geopackage(path, manifest_rows(spec, request_id, tiles, output_ids), COLUMNS)
        upload_file(s3_client(creds), str(path), url, GPKG_TYPE)
    return url
