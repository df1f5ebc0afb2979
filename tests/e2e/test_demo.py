"""`make demo` end to end: the real stack, the sample archive, one v1 request through HTTP, COGs checked
against NDVI computed directly from the archive's source COGs (independently of the worker code)."""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.io import MemoryFile
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import box, shape
from support.archive_reference import composite, layers, ndvi, order_layers

from ops import archive, demo
from workers.catalog import parse_time

MIN_IDENTICAL_SHARE = 0.999
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_run(sample_archive):
    """The demo, as `make demo` runs it, on the test stack with the default sample archive."""
    return demo.run(sample_archive)


def test_demo_request_is_done_across_two_utm_zones(demo_run) -> None:
    assert demo_run.request["status"] == "DONE"
    assert demo_run.request["tileCount"] == len(demo_run.tiles) >= 2
    assert {t["status"] for t in demo_run.tiles} == {"PROCESSED"}
    assert {t["epsg"] for t in demo_run.tiles} == {32632, 32633}
    for png in (demo_run.status_map, demo_run.quicklook):
        assert png is not None and png.read_bytes()[:8] == PNG_SIGNATURE


def test_estimate_matches_what_the_workers_did(demo_run) -> None:
    """ANALYSE's real scene counts equal the scenes each tile read, and the dry-run time is within 2x of the
    measured mean tile time (both measured on the same machine, under the same load)."""
    estimate = demo_run.request["estimate"]
    for tile in demo_run.tiles:
        assert len(tile["scenes"]) == tile["sceneCount"], tile["name"]
    assert estimate["scenes"] == sum(tile["sceneCount"] for tile in demo_run.tiles)
    measured = sum(tile["seconds"] for tile in demo_run.tiles) / len(demo_run.tiles)
    assert 0.5 <= estimate["perTileSeconds"] / measured <= 2.0, (estimate["perTileSeconds"], measured)


def _best_tile_per_zone(tiles: list[dict]) -> list[dict]:
    aoi = box(*demo.DEMO_BBOX)
    best: dict[int, dict] = {}
    for tile in tiles:
        overlap = shape(tile["geometry"]).intersection(aoi).area
        if tile["epsg"] not in best or overlap > shape(best[tile["epsg"]]["geometry"]).intersection(aoi).area:
            best[tile["epsg"]] = tile
    return list(best.values())


def test_demo_cogs_equal_ndvi_from_the_source_cogs(demo_run, local_stack, tmp_path) -> None:
    s3 = local_stack.s3.client()
    time_range = demo.DEMO_TIME_RANGE
    for tile in _best_tile_per_zone(demo_run.tiles):
        bucket, key = tile["outputs"]["default"][len("s3://") :].split("/", 1)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        path = tmp_path / f"{tile['name']}.tif"
        path.write_bytes(body)
        valid, errors, _ = cog_validate(str(path), quiet=True)
        assert valid, errors
        with MemoryFile(body) as mem, mem.open() as cog:
            assert cog.crs.to_epsg() == tile["epsg"] and cog.dtypes[0] == "float32"
            got = cog.read(1).ravel()

        found = layers(
            s3, local_stack.settings.archive_bucket, tile, ["B04", "B08"], archive.DEFAULT_BBOX,
            archive.DEFAULT_START, archive.DEFAULT_DAYS, archive.DEFAULT_SEED,
            parse_time(time_range["from"]), parse_time(time_range["to"]),
        )
        values, filled = composite(order_layers(found, "leastCC"), ["B04", "B08"])
        expected = np.where(filled, ndvi(values), np.nan).astype(np.float32)
        assert filled.sum() > 10_000  # the comparison covers real data, not only no-data
        same = np.isclose(got, expected, rtol=1e-6, atol=1e-6, equal_nan=True)
        assert same.mean() >= MIN_IDENTICAL_SHARE, f"{tile['name']}: {(~same).sum()} of {same.size} pixels differ"
