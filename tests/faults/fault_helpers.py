"""Helpers of the fault suite: killing services, consistency checks of a request's tiles, evalscripts."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from typing import Any

from support.batch_requests import all_tiles, read_s3_tiff, wait_final

from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store
from ops import processes
from ops.service_base import ManagedService, PortInUseError
from ops.services import LocalStack

NDVI = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) {
  return [(s.B08 - s.B04) / (s.B08 + s.B04)];
}
"""


def sigkill_service(service: ManagedService) -> int:
    """SIGKILL a stack service (no shutdown, no flush) and wait until it is gone; returns its pid."""
    record = service.running()
    assert record is not None, f"{service.name} is not running"
    os.kill(record.pid, signal.SIGKILL)
    assert processes.wait_until(lambda: not processes.is_alive(record), 10.0), f"{service.name} survived SIGKILL"
    service.pidfile.unlink(missing_ok=True)
    return record.pid


def restart_service(service: ManagedService, timeout_s: float = 30.0) -> None:
    """Start a killed service again on its port and data (a forked child, e.g. Redis' AOF rewrite, may hold the
    port for a moment after the parent died)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            service.start()
            return
        except PortInUseError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_tiles(store: Store, request_id: str, status: TileStatus, at_least: int = 1, timeout_s: float = 180) -> None:
    """Poll until at least `at_least` tiles of the request have `status`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if store.tile_counts(request_id)[status] >= at_least:
            return
        time.sleep(0.2)
    raise AssertionError(f"no {status} tile in time: {store.tile_counts(request_id)}")


def assert_consistent(store: Store, request_id: str) -> list[dict[str, Any]]:
    """Every tile exists once with one status, the per-status counts add up to tileCount; returns the tiles."""
    record = store.get_request(request_id)
    assert record is not None, f"request {request_id} was lost"
    tiles = all_tiles(store, request_id)
    ids = [int(t["id"]) for t in tiles]
    assert len(ids) == len(set(ids)) == int(record["tileCount"]), (len(ids), record["tileCount"])
    counts = store.tile_counts(request_id)
    assert sum(counts.values()) == len(ids), counts
    assert Counter(t["status"] for t in tiles) == {s: n for s, n in counts.items() if n}, counts
    return tiles


def worker_pids(stack: Any) -> list[int]:
    """Pids of the stack's running rq workers (the parents, not their work horses)."""
    return sorted(record.pid for record in stack.workers.running().values())


def assert_done_with_every_output(store: Store, stack: LocalStack, request_id: str) -> list[dict[str, Any]]:
    """Wait for the request to end; it must be DONE, consistent, with every tile PROCESSED and its COG readable
    at the tile's size. Returns the tiles."""
    record = wait_final(store, request_id)
    assert record["status"] == RequestStatus.DONE, (record.get("error"), store.tile_counts(request_id))
    tiles = assert_consistent(store, request_id)
    s3 = stack.s3.client()
    for tile in tiles:
        assert tile["status"] == TileStatus.PROCESSED
        data, _ = read_s3_tiff(s3, tile["outputs"]["default"])
        assert data.shape == (1, tile["heightPx"], tile["widthPx"])
    return tiles
