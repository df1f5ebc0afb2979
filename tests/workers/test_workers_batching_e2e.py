"""End to end on the real stack: a request of many small tiles runs in batches (several tiles per rq job), and
every tile still ends with its own record, its COG in S3 and its results item in the catalog."""

from __future__ import annotations

import dataclasses
from collections import Counter

from support.batch_requests import all_tiles, make_spec, registered_items, submit, wait_final

from evalbatch.queues import tile_job_ids
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store
from ops.services import LocalStack
from workers.results_stac import results_collection_id

TRIVIAL = """//VERSION=3
function setup() { return {input: ["dataMask"], output: {bands: 1, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [s.dataMask]; }
"""
# west of the archive: tiles of the 60 m grid-0, most of them without scenes (small work each)
WIDE_BBOX = [11.2, 45.6, 12.0, 46.3]


def test_small_tiles_share_jobs_and_each_keeps_its_outputs_and_item(processing_stack: LocalStack,
                                                                     store: Store) -> None:
    spec = dataclasses.replace(make_spec(TRIVIAL, tile_path="s3://results/batched"), bounds={"bbox": WIDE_BBOX})
    request_id = submit(store, spec)
    record = wait_final(store, request_id)
    assert record["status"] == RequestStatus.DONE, record.get("error")

    tiles = all_tiles(store, request_id)
    assert len(tiles) >= 16
    job_sizes = Counter(tile_job_ids(store.redis, request_id, [t["id"] for t in tiles]).values())
    assert max(job_sizes.values()) > 1, job_sizes  # batched
    assert sum(job_sizes.values()) == len(tiles)

    s3 = processing_stack.s3.client()
    items = registered_items(processing_stack.settings.stac_url, results_collection_id(request_id))
    for tile in tiles:
        assert tile["status"] == TileStatus.PROCESSED and tile["attempts"] == 1
        assert tile["seconds"] > 0 and tile["stacError"] is None
        bucket, key = tile["outputs"]["default"].removeprefix("s3://").split("/", 1)
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
        assert tile["name"] in items
    assert len(items) == len(tiles)
    assert record["costPU"] > 0
