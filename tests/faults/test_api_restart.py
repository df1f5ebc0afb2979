"""The API SIGKILLed mid-run and started again: the request submitted through HTTP is still there with the same
tiles, the token issued before the crash is still accepted (the signing key lives in the stack's credentials, not
in the process), and the request completes DONE (the API holds no state of its own: everything is in Redis)."""

from __future__ import annotations

import os
import signal

import httpx
import pytest
from fault_helpers import assert_consistent, restart_service, wait_tiles
from support.batch_requests import AOI_BBOX, ORBIT_COUNT, TIME_FROM, TIME_TO, read_s3_tiff

from evalbatch import accounts
from evalbatch.states import RequestStatus, TileStatus
from ops import processes
from ops.api_client import FINAL_STATUSES, ApiClient
from ops.service_base import ManagedService

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEAD_WITHIN_S = 10.0
TILE_PATH = "s3://results/api-restart/<requestId>/<tileName>/<outputId>.<format>"


def create_body(tile_path: str) -> dict:
    """A v1 create body of the fault suite's archive AOI on grid 0 at 20 m (several tiles of a few seconds)."""
    return {
        "processRequest": {
            "input": {
                "bounds": {"bbox": AOI_BBOX, "properties": {"crs": CRS84}},
                "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": TIME_FROM, "to": TIME_TO}}}],
            },
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": ORBIT_COUNT,
        },
        "tilingGrid": {"id": 0, "resolution": 20.0},
        "output": {"defaultTilePath": tile_path},
        "description": "api restart",
    }


def sigkill_process_group(service: ManagedService) -> None:
    """SIGKILL a service and every process of its group (uvicorn's worker processes), as a crash would."""
    record = service.running()
    assert record is not None, f"{service.name} is not running"
    os.killpg(record.pid, signal.SIGKILL)

    def group_gone() -> bool:
        try:
            os.killpg(record.pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert processes.wait_until(lambda: not processes.is_alive(record) and group_gone(), DEAD_WITHIN_S)
    service.pidfile.unlink(missing_ok=True)


@pytest.fixture
def api_client(fault_stack, fault_store):
    """An OAuth client of the fault stack's API (started here) with a token issued before any fault."""
    fault_stack.start_api()
    created = accounts.create_client(fault_store.redis, name="api-restart")
    with ApiClient(fault_stack.api.url, created["client_id"], created["client_secret"]) as client:
        yield client


def test_api_sigkilled_mid_run_loses_nothing_and_keeps_its_tokens(fault_stack, fault_store, api_client):
    request_id = api_client.create(create_body(TILE_PATH))["id"]
    api_client.act(request_id, "start")
    wait_tiles(fault_store, request_id, TileStatus.PROCESSING)
    tile_ids = {tile["id"] for tile in api_client.tiles(request_id)}
    token = api_client.http.headers["Authorization"]

    sigkill_process_group(fault_stack.api)
    with pytest.raises(httpx.TransportError):  # really down
        api_client.request(request_id)
    restart_service(fault_stack.api)  # same home: same credentials, so the same signing key

    assert api_client.http.headers["Authorization"] == token  # no new token: the one issued before the crash
    during = api_client.request(request_id)
    assert during["status"] in {RequestStatus.PROCESSING, RequestStatus.DONE}, during
    assert during["tileCount"] == len(tile_ids)
    listed = api_client.tiles(request_id)
    assert {tile["id"] for tile in listed} == tile_ids and len(listed) == len(tile_ids)
    assert {tile["status"] for tile in listed} <= {status.value for status in TileStatus}

    final = api_client.wait(request_id, FINAL_STATUSES, interval_s=0.5)
    assert final["status"] == RequestStatus.DONE, (final.get("error"), final["tileStatusCounts"])
    assert final["tileStatusCounts"][TileStatus.PROCESSED] == len(tile_ids)
    s3 = fault_stack.s3.client()
    for tile in assert_consistent(fault_store, request_id):
        assert tile["id"] in tile_ids and tile["status"] == TileStatus.PROCESSED
        data, _ = read_s3_tiff(s3, tile["outputs"]["default"])
        assert data.shape == (1, tile["heightPx"], tile["widthPx"])
        assert data.min() <= data.max() <= 12  # one count per archived day
