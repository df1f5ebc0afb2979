"""v2 bucket artefacts: the GeoPackage feature manifest and the execution database."""

from __future__ import annotations

import sqlite3
import struct

import shapely
from shapely.geometry import box
from support.batch_requests import make_spec

from evalbatch.states import TileStatus
from evalbatch.store import Store
from workers.execution_db import write_execution_db
from workers.geopackage import APPLICATION_ID, write_geopackage
from workers.manifest import COLUMNS, manifest_rows


def tile(tile_id: int, name: str, epsg: int, x0: float) -> dict:
    return {"id": tile_id, "name": name, "epsg": epsg, "origin": {"coordinates": [x0, 5100000.0]},
            "resolution": 60.0, "widthPx": 334, "heightPx": 334, "bufferX": 1, "bufferY": 1,
            "requestId": "r"}


TILES = [tile(1, "32TQR_1_0", 32632, 780000.0), tile(2, "33TTL_3_0", 32633, 240000.0),
         tile(3, "33TTL_3_1", 32633, 260040.0)]


def test_feature_manifest_is_a_geopackage_with_a_table_per_crs(tmp_path):
    spec = make_spec("//VERSION=3", api_version=2, tile_path="s3://results/ndvi/<tileName>/<outputId>.<format>")
    rows = manifest_rows(spec, "req-1", TILES, ["default"])
    path = tmp_path / "m.gpkg"
    write_geopackage(path, rows, COLUMNS)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    tables = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")}
    assert tables == {"feature_32632", "feature_32633"}
    assert con.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'feature_32633'").fetchone() \
        == (32633,)
    found = con.execute('SELECT fid, outputId, identifier, path, width, height, geometry FROM "feature_32633"'
                        " ORDER BY fid").fetchall()
    assert [r[2] for r in found] == ["33TTL_3_0", "33TTL_3_1"]
    assert found[0][3] == "s3://results/ndvi/33TTL_3_0/default.tiff"
    assert found[0][4:6] == (336, 336)
    blob = found[0][6]
    magic, version, _flags, srs_id = struct.unpack("<2sBBi", blob[:8])
    assert (magic, version, srs_id) == (b"GP", 0, 32633)
    envelope = struct.unpack("<4d", blob[8:40])
    geometry = shapely.from_wkb(blob[40:])
    expected = box(240000 - 60, 5100000 - 335 * 60, 240000 + 335 * 60, 5100000 + 60)
    assert geometry.equals(expected)
    assert envelope == (expected.bounds[0], expected.bounds[2], expected.bounds[1], expected.bounds[3])


def test_execution_database_reflects_tile_states(redis_client, tmp_path):
    store = Store(redis_client)
    store.put_tiles("req", TILES)
    store.set_tile_status("req", 1, TileStatus.PROCESSED)
    store.update_tile_info("req", 1, outputs={"default": "s3://x/1.tiff"})
    store.set_tile_status("req", 2, TileStatus.FAILED)
    store.update_tile_info("req", 2, error="boom (line 3)")
    path = tmp_path / "execution.sqlite"
    assert write_execution_db(store, "req", path) == 3
    rows = sqlite3.connect(path).execute("SELECT id, name, status, error, delivered FROM features ORDER BY id")
    assert rows.fetchall() == [
        (1, "32TQR_1_0", "DONE", None, 1),
        (2, "33TTL_3_0", "FATAL", "boom (line 3)", 0),
        (3, "33TTL_3_1", "PENDING", None, 0),
    ]
