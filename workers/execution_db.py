"""v2 execution database `execution-<requestId>.sqlite` (batch-api.md §5.8), uploaded while processing."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from evalbatch.objectstore import S3Credentials, s3_client, upload_file
from evalbatch.settings import Settings
from evalbatch.states import TileStatus
from evalbatch.store import Store

SQLITE_TYPE = "application/vnd.sqlite3"
UPLOAD_EVERY_TILES = 50
FEATURE_STATUS = {TileStatus.PROCESSED: "DONE", TileStatus.FAILED: "FATAL"}


def execution_name(request_id: str) -> str:
    """Object name of the execution database in the delivery root."""
    return f"execution-{request_id}.sqlite"


def write_execution_db(store: Store, request_id: str, path: Path) -> int:
    """Write table `features` (id, name, status, error, delivered) from the tile store; returns rows."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    rows = 0
    try:
        con.execute(
            "CREATE TABLE features (id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,"
            " error TEXT, delivered BOOLEAN NOT NULL)"
        )
        page: list[int] = []
        for tile_id in store.iter_tile_ids(request_id):
            page.append(tile_id)
            if len(page) == 1000:
                rows += _insert(con, store, request_id, page)
                page = []
        rows += _insert(con, store, request_id, page)
        con.commit()
    finally:
        con.close()
    return rows


def _insert(con: sqlite3.Connection, store: Store, request_id: str, tile_ids: list[int]) -> int:
    tiles = store.get_tiles(request_id, tile_ids)
    con.executemany(
        "INSERT INTO features VALUES (?, ?, ?, ?, ?)",
        [
            (
                t["id"],
                t["name"],
                FEATURE_STATUS.get(TileStatus(t["status"]), "PENDING"),
                t.get("error"),
                bool(t.get("outputs")) and t["status"] == TileStatus.PROCESSED,
            )
            for t in tiles
        ],
    )
    return len(tiles)


def upload_execution_db(store: Store, settings: Settings, request_id: str, delivery_root: str) -> str:
    """Write and upload the execution database; returns its URL."""
    url = delivery_root.rstrip("/") + "/" + execution_name(request_id)
    creds = S3Credentials.from_settings(settings).with_secrets(store.get_secrets(request_id))
    with tempfile.TemporaryDirectory(prefix="execution-") as tmp:
        path = Path(tmp) / execution_name(request_id)
        write_execution_db(store, request_id, path)
        upload_file(s3_client(creds), str(path), url, SQLITE_TYPE)
    return url
