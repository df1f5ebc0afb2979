"""`evalbatch requests replay ID TILE_ID`: one tile re-run locally against the real stack (Redis, S3, STAC)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS_TESTS = REPO_ROOT / "tests" / "workers"
for _path in (str(WORKERS_TESTS), str(REPO_ROOT)):  # the workers' test helpers; the real packages first
    if _path in sys.path:
        sys.path.remove(_path)
    sys.path.insert(0, _path)
for _name in ("workers", "evaluator"):
    if _name in sys.modules and getattr(sys.modules[_name], "__file__", None) is None:
        sys.modules.pop(_name)

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from workers_helpers import (  # noqa: E402
    ARCHIVE_BBOX,
    ARCHIVE_DAYS,
    ARCHIVE_SEED,
    ARCHIVE_START,
    all_tiles,
    make_spec,
    read_s3_tiff,
    submit,
    wait_final,
    wait_for,
)

from evalbatch.states import RequestStatus, TileStatus  # noqa: E402
from evalbatch.store import Store  # noqa: E402
from ops.archive import synth  # noqa: E402
from ops.cli import cli  # noqa: E402
from ops.services import LocalStack  # noqa: E402

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
WORKERS = 2


@pytest.fixture(scope="module")
def replay_stack(local_stack: LocalStack) -> Iterator[LocalStack]:
    """The local stack with the test archive and rq workers (which process the requests first)."""
    synth(local_stack.settings, bbox=ARCHIVE_BBOX, start=ARCHIVE_START, days=ARCHIVE_DAYS, seed=ARCHIVE_SEED,
          progress=False, workers=1)
    local_stack.start_workers(WORKERS)
    yield local_stack


@pytest.fixture
def store(replay_stack: LocalStack) -> Iterator[Store]:
    client = redis.Redis.from_url(replay_stack.settings.redis_url)
    yield Store(client)
    client.close()


def replay(stack: LocalStack, *args: str):
    """Run `evalbatch requests replay ARGS` with the stack's EVALBATCH_* environment."""
    return CliRunner().invoke(cli, ["requests", "replay", *args], env=stack.env())


def test_replay_reproduces_the_delivered_tile_locally(replay_stack: LocalStack, store: Store, tmp_path: Path) -> None:
    request_id = submit(store, make_spec(NDVI, resolution=60.0))
    assert wait_final(store, request_id)["status"] == RequestStatus.DONE
    tile = all_tiles(store, request_id)[0]

    result = replay(replay_stack, request_id, str(tile["id"]), "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    assert "replay: OK" in result.output
    assert tile["scenes"] and all(f"  {scene}\n" in result.output for scene in tile["scenes"])
    assert tile["assetsRead"] and all(f"  {href}\n" in result.output for href in tile["assetsRead"])
    assert {href.split("/")[-2] for href in tile["assetsRead"]} == set(tile["scenes"])  # <item id>/<band>.tif
    local = tmp_path / "default.tif"
    assert f"output default: {local}" in result.output
    delivered, profile = read_s3_tiff(replay_stack.s3.client(), tile["outputs"]["default"])
    with rasterio.open(local) as dataset:
        assert dataset.crs == profile["crs"] and dataset.transform == profile["transform"]
        np.testing.assert_array_equal(dataset.read(), delivered)
    assert store.get_tile(request_id, int(tile["id"]))["status"] == TileStatus.PROCESSED  # nothing changed


def test_replay_of_a_failed_tile_shows_the_evalscript_line(replay_stack: LocalStack, store: Store) -> None:
    # the analysis' dry run would reject a script that always throws: analyse a good one, then store the bad one
    spec = make_spec(NDVI, resolution=60.0)
    request_id = submit(store, spec, user_action="ANALYSE")
    wait_for(store, request_id, {RequestStatus.ANALYSIS_DONE.value})
    spec.evalscript = THROWS
    store.update_request(request_id, spec=spec.to_dict())
    tile = all_tiles(store, request_id)[0]
    throw_line = next(n for n, text in enumerate(THROWS.splitlines(), start=1) if "throw" in text)

    result = replay(replay_stack, request_id, str(tile["id"]))

    assert result.exit_code == 1, result.output
    assert "replay: FAILED" in result.output
    assert "replay me" in result.output
    assert f"evalscript line {throw_line}: {THROWS.splitlines()[throw_line - 1].strip()}" in result.output


def test_replay_of_an_unknown_tile_is_a_clear_error(replay_stack: LocalStack, store: Store) -> None:
    request_id = submit(store, make_spec(NDVI, resolution=60.0), user_action="ANALYSE")
    result = replay(replay_stack, request_id, "99999")
    assert result.exit_code == 1
    assert "has no tile 99999" in result.output
    assert "no request nope" in replay(replay_stack, "nope", "0").output
