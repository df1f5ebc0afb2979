"""Chaining: a request reads the outputs of an earlier one through its `batch-<requestId>` STAC collection
(NDVI -> threshold), on the real stack with workers."""

from __future__ import annotations

import numpy as np
from support.batch_requests import all_tiles, make_spec, read_s3_tiff, submit, wait_final

from evalbatch.states import RequestStatus
from evalbatch.store import Store
from ops.services import LocalStack
from workers.results_stac import results_collection_id

NDVI = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) {
  return [s.dataMask ? (s.B08 - s.B04) / (s.B08 + s.B04) : -2];
}
"""
THRESHOLD = 0.3
NO_DATA = 255
THRESHOLD_SCRIPT = f"""//VERSION=3
function setup() {{
  return {{input: ["default", "dataMask"], output: {{bands: 1, sampleType: "UINT8"}}}};
}}
function evaluatePixel(s) {{
  if (!s.dataMask) return [{NO_DATA}];
  return [s.default > {THRESHOLD} ? 1 : 0];
}}
"""
MIN_IDENTICAL_SHARE = 0.99  # tiles of the two UTM zones overlap: there the mosaic may pick the neighbour's pixel


def test_threshold_of_an_earlier_ndvi_request(processing_stack: LocalStack, store: Store) -> None:
    first = submit(store, make_spec(NDVI, resolution=60.0))
    assert wait_final(store, first)["status"] == RequestStatus.DONE
    chained = make_spec(THRESHOLD_SCRIPT, resolution=60.0)
    chained.data = [{**chained.data[0], "type": results_collection_id(first)}]
    second = submit(store, chained)
    record = wait_final(store, second)
    assert record["status"] == RequestStatus.DONE, record.get("error")

    s3 = processing_stack.s3.client()
    ndvi_tiles = {t["name"]: t for t in all_tiles(store, first)}
    chained_tiles = all_tiles(store, second)
    assert {t["name"] for t in chained_tiles} == set(ndvi_tiles)
    for tile in chained_tiles:
        source = ndvi_tiles[tile["name"]]
        assert tile["scenes"] and source["name"] in tile["scenes"]  # read the earlier request's item
        ndvi, _ = read_s3_tiff(s3, source["outputs"]["default"])
        classes, _ = read_s3_tiff(s3, tile["outputs"]["default"])
        expected = np.where(ndvi[0] == 0, NO_DATA, (ndvi[0] > THRESHOLD).astype(np.uint8))
        assert classes.shape[1:] == expected.shape
        assert np.mean(classes[0] == expected) >= MIN_IDENTICAL_SHARE
        assert set(np.unique(classes[0])) >= {0, 1}
