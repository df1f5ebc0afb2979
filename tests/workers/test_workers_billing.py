"""A tile processed twice at once (at-least-once delivery after a crash) is billed once."""

from __future__ import annotations

import pytest
from support.batch_requests import put_processing_request

from evalbatch.settings import get_settings
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store
from workers import tiles
from workers.pipeline import TileResult

REQUEST = "req-billing"
TILE = {"id": 1, "name": "T1", "widthPx": 100, "heightPx": 100}


def test_a_tile_run_twice_concurrently_is_billed_once(redis_client, monkeypatch):
    url = redis_client.connection_pool.connection_kwargs
    monkeypatch.setenv("EVALBATCH_REDIS_URL", f"redis://{url['host']}:{url['port']}/0")
    get_settings.cache_clear()
    store = Store(redis_client)
    put_processing_request(store, REQUEST, [TILE])
    runs = []

    def run_tile(*args, **kwargs) -> TileResult:
        runs.append(len(runs))
        if len(runs) == 1:  # while the first run works, a second run of the same tile starts and finishes
            tiles.process_tiles(store, get_settings(), REQUEST, [TILE["id"]])
        return TileResult(outputs={"default": f"s3://results/{len(runs)}.tif"}, samples=1, bands=["B04"],
                          sample_types=["UINT8"])

    monkeypatch.setattr(tiles, "run_tile", run_tile)
    monkeypatch.setattr(tiles, "publish_tiles", lambda *args: {d.tile_id: None for d in args[-1]})
    try:
        tiles.process_tiles(store, get_settings(), REQUEST, [TILE["id"]])
    finally:
        get_settings.cache_clear()

    assert len(runs) == 2
    tile = store.get_tile(REQUEST, TILE["id"])
    assert tile["status"] == TileStatus.PROCESSED
    record = store.get_request(REQUEST)
    assert record["status"] == RequestStatus.DONE
    assert tile["costPU"] > 0  # rounded to 4 decimals on the tile; one tile's PU, no discount at this size:
    assert float(record["costPU"]) == pytest.approx(tile["costPU"], abs=1e-4)
