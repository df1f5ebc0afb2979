"""Request-level behaviour end to end: v2 bucket artefacts, the budget guard, a broken evalscript,
temporal interpolation and userdata."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
from support.batch_requests import all_tiles, archived_layers, make_spec, read_s3_tiff, submit, wait_final, wait_for

from evalbatch.spec import delivery_root
from evalbatch.states import RequestStatus, TileStatus

COUNT_DATES = """//VERSION=3
function setup() {
  return {input: ["B04", "dataMask"], output: {bands: 1, sampleType: "UINT8"}, mosaicking: "ORBIT"};
}
function updateOutput(outputs, collection) { outputs.default.bands = collection.scenes.length; }
function evaluatePixel(samples) {
  var out = [];
  for (var i = 0; i < samples.length; i++) out.push(samples[i].dataMask);
  return out;
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {dates: scenes.orbits.map(function (o) { return o.dateFrom; })};
}
"""

SIMPLE_MASK = """//VERSION=3
function setup() { return {input: ["B04", "dataMask"], output: {bands: 1, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [s.dataMask]; }
"""


def test_v2_request_writes_manifest_and_execution_database(store, processing_stack, tmp_path):
    template = "s3://results/v2-artefacts/<tileName>/<outputId>.<format>"
    spec = make_spec(SIMPLE_MASK, api_version=2, tile_path=template, overwrite=True,
                     delivery_root=delivery_root(template))
    request_id = submit(store, spec, api_version=2)
    record = wait_final(store, request_id)
    assert record["status"] == RequestStatus.DONE, record.get("error")
    s3 = processing_stack.s3.client()
    tiles = all_tiles(store, request_id)
    for name, suffix in (("featureManifest", "gpkg"), ("execution", "sqlite")):
        path = tmp_path / f"{name}.{suffix}"
        s3.download_file("results", f"v2-artefacts/{name}-{request_id}.{suffix}", str(path))
        con = sqlite3.connect(path)
        if name == "execution":
            rows = con.execute("SELECT name, status, delivered FROM features ORDER BY id").fetchall()
            assert rows == [(t["name"], "DONE", 1) for t in sorted(tiles, key=lambda t: t["id"])]
        else:
            paths = set()
            for (table,) in con.execute("SELECT table_name FROM gpkg_contents"):
                paths |= {p for (p,) in con.execute(f'SELECT path FROM "{table}"')}
            assert paths == {f"s3://results/v2-artefacts/{t['name']}/default.tiff" for t in tiles}
    for tile in tiles:
        assert tile["outputs"]["default"] == f"s3://results/v2-artefacts/{tile['name']}/default.tiff"


def test_budget_guard_keeps_request_analysed(store, processing_stack):
    spec = make_spec(SIMPLE_MASK, tile_path="s3://results/budget", max_processing_units=1.0)
    request_id = submit(store, spec, user_action="START")
    record = wait_for(store, request_id, {RequestStatus.ANALYSIS_DONE.value, RequestStatus.FAILED.value,
                                          RequestStatus.PROCESSING.value, RequestStatus.DONE.value})
    assert record["status"] == RequestStatus.ANALYSIS_DONE
    assert record["error"].startswith("estimate ") and "exceeds maxProcessingUnits 1" in record["error"]
    assert record["estimate"]["processingUnits"] >= 100  # the batch minimum
    assert store.tile_counts(request_id)[TileStatus.PENDING] == record["tileCount"]


def test_broken_evalscript_fails_the_analysis_with_its_line(store, processing_stack):
    broken = "//VERSION=3\nfunction setup() {\n  return {input: [\"B04\"], output: {bands: 1}};\n}\n" \
             "function evaluatePixel(s) {\n  return [s.B04 * ];\n}\n"
    request_id = submit(store, make_spec(broken, tile_path="s3://results/broken"))
    record = wait_final(store, request_id)
    assert record["status"] == RequestStatus.FAILED
    assert "SyntaxError" in record["error"] and "line 6" in record["error"]


def test_temporal_interpolation_and_userdata(store, processing_stack):
    spec = make_spec(COUNT_DATES, tile_path="s3://results/interp", overwrite=True)
    spec.data[0]["processing"] = {"temporalInterpolation": {"step": "P4D", "method": "nearest"}}
    spec.responses.append({"identifier": "userdata", "format": {"type": "application/json"}})
    request_id = submit(store, spec)
    record = wait_final(store, request_id)
    assert record["status"] == RequestStatus.DONE, record.get("error")
    s3 = processing_stack.s3.client()
    for tile in all_tiles(store, request_id):
        data, _ = read_s3_tiff(s3, tile["outputs"]["default"])
        assert data.shape[0] == 3  # 1-12 May every 4 days: the 9th, 5th and 1st, newest first
        covered = data.max(axis=0) > 0
        # nearest interpolation: a pixel valid on any date is valid on every grid date
        assert covered.any() and (data[:, covered] == 1).all()
        bucket, key = tile["outputs"]["userdata"][len("s3://"):].split("/", 1)
        userdata = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert [d[:10] for d in userdata["dates"]] == ["2024-05-09", "2024-05-05", "2024-05-01"]


TILE_COUNT = """//VERSION=3
function setup() {
  return {input: ["B04", "dataMask"], output: {bands: 1, sampleType: "UINT16"}, mosaicking: "TILE"};
}
function evaluatePixel(samples, scenes) {
  var n = 0;
  for (var i = 0; i < samples.length; i++) { if (samples[i].dataMask) n++; }
  return [n * 100 + scenes.tiles.length];
}
"""


def test_tile_mosaicking_gives_one_sample_per_item(store, processing_stack):
    request_id = submit(store, make_spec(TILE_COUNT, tile_path="s3://results/tile-mode", overwrite=True))
    record = wait_final(store, request_id)
    assert record["status"] == RequestStatus.DONE, record.get("error")
    s3 = processing_stack.s3.client()
    for tile in all_tiles(store, request_id):
        data, _ = read_s3_tiff(s3, tile["outputs"]["default"])
        found = archived_layers(processing_stack, tile, ("B04",))
        expected = sum(layer.valid.astype(np.uint16) for layer in found) * 100 + len(tile["scenes"])
        assert len(tile["scenes"]) == tile["sceneCount"] == len(found)  # one sample per archived item
        assert (data.ravel() == expected).mean() >= 0.999
