"""`evalbatch requests replay ID TILE_ID`: one tile re-run locally against the real stack (Redis, S3, STAC)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from click.testing import CliRunner
from support.batch_requests import (
    all_tiles,
    make_spec,
    read_s3_tiff,
    submit,
    wait_final,
    wait_for,
)

from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store
from ops.cli import cli
from ops.services import LocalStack

NDVI = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) {
  return [s.dataMask ? (s.B08 - s.B04) / (s.B08 + s.B04) : -2];
}
"""
THROWS = """//VERSION=3
function setup() {
  return {input: ["B04", "dataMask"], output: {bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) {
  if (s.dataMask) { throw new Error("replay me"); }
  return [0];
}
"""




def replay(stack: LocalStack, *args: str):
    """Run `evalbatch requests replay ARGS` with the stack's EVALBATCH_* environment."""
    return CliRunner().invoke(cli, ["requests", "replay", *args], env=stack.env())


def test_replay_reproduces_the_delivered_tile_locally(
    processing_stack: LocalStack, store: Store, tmp_path: Path
) -> None:
    request_id = submit(store, make_spec(NDVI, resolution=60.0))
    assert wait_final(store, request_id)["status"] == RequestStatus.DONE
    tile = all_tiles(store, request_id)[0]

    result = replay(processing_stack, request_id, str(tile["id"]), "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    assert "replay: OK" in result.output
    assert tile["scenes"] and all(f"  {scene}\n" in result.output for scene in tile["scenes"])
    assert tile["assetsRead"] and all(f"  {href}\n" in result.output for href in tile["assetsRead"])
    assert {href.split("/")[-2] for href in tile["assetsRead"]} == set(tile["scenes"])  # <item id>/<band>.tif
    local = tmp_path / "default.tif"
    assert f"output default: {local}" in result.output
    delivered, profile = read_s3_tiff(processing_stack.s3.client(), tile["outputs"]["default"])
    with rasterio.open(local) as dataset:
        assert dataset.crs == profile["crs"] and dataset.transform == profile["transform"]
        np.testing.assert_array_equal(dataset.read(), delivered)
    assert store.get_tile(request_id, int(tile["id"]))["status"] == TileStatus.PROCESSED  # nothing changed


def test_replay_of_a_failed_tile_shows_the_evalscript_line(processing_stack: LocalStack, store: Store) -> None:
    # the analysis' dry run would reject a script that always throws: analyse a good one, then store the bad one
    spec = make_spec(NDVI, resolution=60.0)
    request_id = submit(store, spec, user_action="ANALYSE")
    wait_for(store, request_id, {RequestStatus.ANALYSIS_DONE.value})
    spec.evalscript = THROWS
    store.update_request(request_id, spec=spec.to_dict())
    tile = all_tiles(store, request_id)[0]
    throw_line = next(n for n, text in enumerate(THROWS.splitlines(), start=1) if "throw" in text)

    result = replay(processing_stack, request_id, str(tile["id"]))

    assert result.exit_code == 1, result.output
    assert "replay: FAILED" in result.output
    assert "replay me" in result.output
    assert f"evalscript line {throw_line}: {THROWS.splitlines()[throw_line - 1].strip()}" in result.output


def test_replay_of_an_unknown_tile_is_a_clear_error(processing_stack: LocalStack, store: Store) -> None:
    request_id = submit(store, make_spec(NDVI, resolution=60.0), user_action="ANALYSE")
    result = replay(processing_stack, request_id, "99999")
    assert result.exit_code == 1
    assert "has no tile 99999" in result.output
    assert "no request nope" in replay(processing_stack, "nope", "0").output
