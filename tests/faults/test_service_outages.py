"""S3 and the STAC API unavailable for a while: tiles retry with backoff and succeed once the service is back;
the STAC API down at analysis fails the request with a message naming the catalog (decision: an analysis is
cheap to repeat and the user must learn at once that the catalog is down, so it is not retried for minutes)."""

from __future__ import annotations

import time

import pystac_client
import pytest
from fault_helpers import assert_consistent, assert_done_with_every_output, restart_service
from support.batch_requests import ORBIT_COUNT, make_spec, submit, wait_final, wait_for

from evalbatch import keys
from evalbatch.queues import enqueue_start
from evalbatch.states import Action, RequestStatus
from ops import processes
from ops.ports import HOST
from workers.results_stac import results_collection_id

REGISTERED_WITHIN_S = 120.0  # the registration job's first retries come after 10, 20, 40 s
OUTAGE_S = 8.0  # longer than the in-process retries (GDAL, boto3, STAC search): rq's retry must take over


def analysed(store, name: str) -> str:
    """A request analysed (ANALYSIS_DONE) but not started."""
    request_id = submit(store, make_spec(ORBIT_COUNT, tile_path=f"s3://results/{name}", overwrite=True),
                        user_action="ANALYSE")
    record = wait_for(store, request_id, {RequestStatus.ANALYSIS_DONE.value, RequestStatus.FAILED.value})
    assert record["status"] == RequestStatus.ANALYSIS_DONE, record.get("error")
    return request_id


def start(store, request_id: str) -> None:
    """What the API does on START."""
    rule, _ = store.apply_action(request_id, Action.START, 1)
    assert rule.to is RequestStatus.PROCESSING
    enqueue_start(store.redis, request_id)


@pytest.mark.parametrize("service", ["s3", "stac"])
def test_outage_during_processing_is_retried(fault_store, fault_stack, service):
    """S3 or the STAC API stopped while tiles run: tiles retry with backoff, then the request is DONE. (Tiles read
    the analysis' cached search; without the cache, e.g. expired, they search the catalog live, as here.)"""
    request_id = analysed(fault_store, f"{service}-outage")
    if service == "stac":
        fault_store.redis.delete(keys.scene_items(request_id), keys.scene_tiles(request_id))
    stopped = getattr(fault_stack, service)
    stopped.stop()
    try:
        start(fault_store, request_id)
        time.sleep(OUTAGE_S)
        assert fault_store.get_request(request_id)["status"] == RequestStatus.PROCESSING
    finally:
        restart_service(stopped)
    tiles = assert_done_with_every_output(fault_store, fault_stack, request_id)
    assert max(int(t["attempts"]) for t in tiles) >= 2  # the outage cost retries, not tiles


def test_stac_down_during_processing_delays_only_the_results_catalog(fault_store, fault_stack):
    """With the analysis' cached search the tiles need no catalog: they are all delivered during a STAC outage, each
    records why its results item could not be registered (the COG is the product), and once the catalog is back a
    control job registers every missing item (retried with backoff meanwhile)."""
    request_id = analysed(fault_store, "stac-outage-cached")
    fault_stack.stac.stop()
    try:
        start(fault_store, request_id)
        tiles = assert_done_with_every_output(fault_store, fault_stack, request_id)
    finally:
        restart_service(fault_stack.stac)
    assert all(int(t["attempts"]) == 1 for t in tiles)
    assert all(t.get("stacError") for t in tiles), [t.get("stacError") for t in tiles]

    def registered() -> bool:
        return not any(t.get("stacError") for t in assert_consistent(fault_store, request_id))

    assert processes.wait_until(registered, REGISTERED_WITHIN_S), fault_store.redis.smembers(
        keys.unregistered_tiles(request_id))
    collection = pystac_client.Client.open(fault_stack.settings.stac_url).get_collection(
        results_collection_id(request_id))
    assert {item.id for item in collection.get_items()} == {t["name"] for t in tiles}


def test_stac_down_at_analysis_fails_naming_the_catalog(fault_store, fault_stack):
    fault_stack.stac.stop()
    try:
        request_id = submit(fault_store, make_spec(ORBIT_COUNT, tile_path="s3://results/stac-down", overwrite=True))
        record = wait_final(fault_store, request_id, timeout_s=120)
    finally:
        restart_service(fault_stack.stac)
    assert record["status"] == RequestStatus.FAILED
    assert f"{HOST}:{fault_stack.ports.stac}" in record["error"], record["error"]
    assert "STAC" in record["error"]
