"""Redis SIGKILLed mid-run and restarted on the same AOF: nothing accepted is lost and the request completes."""

from __future__ import annotations

import os
import signal
import time

import pytest
from fault_helpers import (
    assert_consistent,
    assert_done_with_every_output,
    restart_service,
    sigkill_service,
    wait_tiles,
)
from support.batch_requests import ORBIT_COUNT, make_spec, read_s3_tiff, submit

from evalbatch.states import TileStatus


@pytest.mark.parametrize("down_s", [0.0, 6.0], ids=["restart-at-once", "down-6s"])
def test_redis_sigkill_mid_run_loses_nothing(fault_store, fault_stack, down_s):
    request_id = submit(fault_store, make_spec(ORBIT_COUNT, resolution=20.0, tile_path="s3://results/redis-kill",
                                               overwrite=True))
    wait_tiles(fault_store, request_id, TileStatus.PROCESSING)
    before = assert_consistent(fault_store, request_id)

    sigkill_service(fault_stack.redis)
    time.sleep(down_s)  # workers and work horses see connection errors meanwhile
    restart_service(fault_stack.redis)  # same data dir: replays the AOF

    after = assert_consistent(fault_store, request_id)
    assert {t["id"] for t in after} == {t["id"] for t in before}
    assert_done_with_every_output(fault_store, fault_stack, request_id)


def test_all_workers_sigkilled_mid_run_then_replaced(fault_store, fault_stack):
    request_id = submit(fault_store, make_spec(ORBIT_COUNT, resolution=20.0, tile_path="s3://results/workers-kill",
                                               overwrite=True))
    wait_tiles(fault_store, request_id, TileStatus.PROCESSING)
    count = len(fault_stack.workers.running())
    for record in fault_stack.workers.running().values():
        os.killpg(record.pid, signal.SIGKILL)  # the worker and its work horse: no handler runs
    fault_stack.workers.stop()  # forget the dead pid files
    fault_stack.start_workers(count)  # new workers recover the tiles the dead ones held

    s3 = fault_stack.s3.client()
    for tile in assert_done_with_every_output(fault_store, fault_stack, request_id):
        data, _ = read_s3_tiff(s3, tile["outputs"]["default"])
        assert data.min() <= data.max() <= 12  # one count per archived day: one consistent output per tile
