"""Faults end to end: a work horse SIGKILLed mid-tile, an evalscript that throws on some tiles (PARTIAL,
then restartpartial), and a cancel while tiles run."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from support.batch_requests import (
    ORBIT_COUNT,
    all_tiles,
    archived_layers,
    make_spec,
    read_s3_tiff,
    submit,
    wait_final,
    wait_for,
)

from evalbatch.queues import cancel_jobs, enqueue_start
from evalbatch.states import Action, RequestStatus, TileStatus

# Throws on the tiles with data in the top half of the tile (pixels 101 .. HALF - 1 in row-major order). The
# counter skips the first pixels so the analysis' 4-pixel validation run never throws.
HALF_PIXELS = 334 * 334 // 2
THROWS_ON_TOP_DATA = f"""//VERSION=3
var seen = 0;
function setup() {{
  return {{input: ["B04", "dataMask"], output: {{bands: 1, sampleType: "UINT8"}}}};
}}
function evaluatePixel(s) {{
  seen++;
  if (s.dataMask && seen > 100 && seen < {HALF_PIXELS}) {{
    throw new Error("data in the top half");
  }}
  return [s.dataMask];
}}
"""


def child_pids(parent: int) -> list[int]:
    """Direct children of a process (from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def alive(pid: int) -> bool:
    """Whether a process exists (and is not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def horses(stack) -> list[int]:
    """Child processes of the stack's workers (work horses and rq schedulers)."""
    return [pid for record in stack.workers.running().values() for pid in child_pids(record.pid)]


def test_killed_work_horse_is_retried(store, processing_stack):
    request_id = submit(store, make_spec(ORBIT_COUNT, resolution=20.0, tile_path="s3://results/faults-kill",
                                         overwrite=True))
    wait_for(store, request_id, {RequestStatus.PROCESSING.value, RequestStatus.FAILED.value})
    deadline = time.monotonic() + 120
    running: list[dict] = []
    while not running and time.monotonic() < deadline:
        running = [t for t in all_tiles(store, request_id) if t["status"] == TileStatus.PROCESSING]
        time.sleep(0.2)
    assert running, "no tile ever ran"
    victim = running[0]
    assert victim["pid"] in horses(processing_stack)  # a work horse, forked by a worker
    os.kill(victim["pid"], signal.SIGKILL)
    record = wait_final(store, request_id)
    assert record["status"] == RequestStatus.DONE, record.get("error")
    tiles = all_tiles(store, request_id)
    killed = next(t for t in tiles if t["id"] == victim["id"])
    assert killed["attempts"] == 2 and killed["pid"] != victim["pid"]  # it ran again, in a new horse
    s3 = processing_stack.s3.client()
    for tile in tiles:
        data, _ = read_s3_tiff(s3, tile["outputs"]["default"])
        assert data.shape == (1, tile["heightPx"], tile["widthPx"])


def expected_failures(stack, tiles: list[dict]) -> set[int]:
    """Tiles with a valid pixel between the 100th and the middle one (row-major), from the archive itself."""
    failing = set()
    for tile in tiles:
        found = archived_layers(stack, tile, ("B04",))
        valid = np.logical_or.reduce([la.valid for la in found])
        if valid[100 : HALF_PIXELS - 1].any():  # evaluatePixel calls 101 .. HALF - 1
            failing.add(tile["id"])
    return failing


def test_script_error_on_some_tiles_gives_partial_then_restart_fails_them_again(store, processing_stack):
    request_id = submit(store, make_spec(THROWS_ON_TOP_DATA, tile_path="s3://results/faults-partial",
                                         overwrite=True))
    record = wait_final(store, request_id)
    tiles = all_tiles(store, request_id)
    failing = expected_failures(processing_stack, tiles)
    assert failing and len(failing) < len(tiles), "the test area must give both outcomes"
    assert record["status"] == RequestStatus.PARTIAL, record.get("error")
    assert {t["id"] for t in tiles if t["status"] == TileStatus.FAILED} == failing
    for tile in tiles:
        if tile["id"] in failing:
            assert "data in the top half" in tile["error"] and "line 9" in tile["error"]
            assert tile["attempts"] == 1  # user errors are not retried
        else:
            assert tile["error"] is None and tile["outputs"]
    done_before = {t["id"]: (t["finished"], t["attempts"]) for t in tiles if t["status"] == TileStatus.PROCESSED}

    rule, _ = store.apply_action(request_id, Action.RESTART_PARTIAL, 1)  # what the API does
    assert rule.to is RequestStatus.PROCESSING
    for tile_id in failing:
        store.set_tile_status(request_id, tile_id, TileStatus.PENDING, [TileStatus.FAILED])
    enqueue_start(store.redis, request_id)
    record = wait_for(store, request_id, {RequestStatus.PARTIAL.value, RequestStatus.DONE.value,
                                          RequestStatus.FAILED.value})
    assert record["status"] == RequestStatus.PARTIAL
    after = all_tiles(store, request_id)
    assert {t["id"] for t in after if t["status"] == TileStatus.FAILED} == failing
    assert {t["id"]: t["attempts"] for t in after if t["id"] in failing} == dict.fromkeys(failing, 2)
    assert {t["id"]: (t["finished"], t["attempts"]) for t in after if t["id"] not in failing} == done_before


@pytest.mark.slow
def test_cancel_stops_every_tile(store, processing_stack):
    request_id = submit(store, make_spec(ORBIT_COUNT, resolution=10.0, tile_path="s3://results/faults-cancel",
                                         overwrite=True))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not store.tile_counts(request_id)[TileStatus.PROCESSING]:
        time.sleep(0.2)
    assert store.tile_counts(request_id)[TileStatus.PROCESSING], "no tile ever ran"
    rule, _ = store.apply_action(request_id, Action.CANCEL, 1)  # what the API does
    assert rule.to is RequestStatus.CANCELED
    open_tiles = [t for t in store.iter_tile_ids(request_id)
                  if store.get_tile(request_id, t)["status"] not in (TileStatus.PROCESSED, TileStatus.FAILED)]
    cancel_jobs(store.redis, request_id, open_tiles)
    tile_pids = {t["pid"] for t in all_tiles(store, request_id) if t.get("pid")}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (store.tile_counts(request_id)[TileStatus.PROCESSING]
                                           or any(alive(pid) for pid in tile_pids)):
        time.sleep(0.5)
    assert store.tile_counts(request_id)[TileStatus.PROCESSING] == 0
    assert not any(alive(pid) for pid in tile_pids)  # every work horse of the request has ended
    time.sleep(3)  # nothing starts again
    assert store.get_request(request_id)["status"] == RequestStatus.CANCELED
    assert store.tile_counts(request_id)[TileStatus.PROCESSING] == 0
    assert store.tile_counts(request_id)[TileStatus.PROCESSED] < len(open_tiles)
