"""Scenes, hooks and their order (spec §4, §5, §6): ORBIT/TILE presentation, scene selection, fusion."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import daily_scenes

from evaluator import Evalscript, EvalscriptRuntimeError, Scene

T = 4
RNG = np.random.default_rng(11)
TEMPORAL = {"B04": RNG.uniform(0, 0.6, (T, 6)).astype(np.float32),
            "dataMask": np.ones((T, 6), np.uint8)}

SCENE_PROBE = """//VERSION=3
function setup() {
  return { input: ["B04", "dataMask"], output: { bands: 0 }, mosaicking: "%s" };
}
let seen = null;
function evaluatePixel(samples, scenes) {
  if (seen === null) {
    seen = {
      isArray: Array.isArray(scenes), length: scenes.length, samples: samples.length,
      dateIsDate: scenes[0].date instanceof Date, firstDate: scenes[0].date.toISOString(),
      orbitId: scenes[0].orbitId, tileId: scenes[0].tileId,
      orbits: scenes.orbits === undefined ? null : scenes.orbits.map((o) => [o.dateFrom, o.dateTo, o.tiles.length]),
      tiles: scenes.tiles === undefined ? null : scenes.tiles.map((t) => [t.date, t.cloudCoverage, t.dataPath, t.shId])
    };
  }
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = { seen, normalizationFactor: inputMetadata.normalizationFactor };
}
"""


def test_orbit_scenes_work_in_current_and_deprecated_forms() -> None:
    scenes = daily_scenes(T)
    userdata = Evalscript.parse(SCENE_PROBE % "ORBIT").run(TEMPORAL, scenes=scenes).userdata
    seen = userdata["seen"]
    assert (seen["isArray"], seen["length"], seen["samples"], seen["dateIsDate"]) == (True, T, T, True)
    assert seen["firstDate"] == "2023-09-10T10:20:31.000Z"
    assert (seen["orbitId"], seen["tileId"]) == ("R000", "T33TVM-0")
    assert seen["orbits"][1] == ["2023-09-04T00:00:00Z", "2023-09-04T23:59:59Z", 1]
    assert seen["tiles"] is None
    assert userdata["normalizationFactor"] == 0.0001


def test_tile_scenes_carry_tile_fields() -> None:
    scenes = daily_scenes(T)
    seen = Evalscript.parse(SCENE_PROBE % "TILE").run(TEMPORAL, scenes=scenes).userdata["seen"]
    assert seen["orbits"] is None
    assert seen["tiles"][2] == ["2023-08-29T10:20:31Z", 20.0, "s3://bucket/tiles/2", "scene-2"]


PREPROCESS = """//VERSION=3
function setup() {
  return { input: ["B04"], output: { bands: 1, sampleType: "FLOAT32" }, mosaicking: "ORBIT" };
}
let offered = null;
function preProcessScenes(collections) {
  offered = { from: collections.from.toISOString(), to: collections.to.toISOString(),
              count: collections.scenes.orbits.length, hasTiles: "tiles" in collections.scenes };
  // oldest first, then drop the oldest: keeps scenes 2, 1, 0 in that order
  collections.scenes.orbits = collections.scenes.orbits
    .sort((a, b) => new Date(a.dateFrom) - new Date(b.dateFrom)).slice(1);
  return collections;
}
function updateOutput(outputs, collection) {
  outputs.default.bands = collection.scenes.length;
}
function evaluatePixel(samples) { return samples.map((s) => s.B04); }
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = { offered, kept: scenes.orbits.map((o) => o.dateFrom.slice(0, 10)) };
}
"""


def test_pre_process_scenes_selects_and_orders_scenes() -> None:
    scenes = daily_scenes(T)
    script = Evalscript.parse(PREPROCESS)
    start, end = datetime(2023, 8, 1, tzinfo=UTC), datetime(2023, 9, 30, tzinfo=UTC)
    result = script.run(TEMPORAL, scenes=scenes, time_from=start, time_to=end)
    assert result.kept == [2, 1, 0]
    assert result.userdata == {
        "offered": {"from": "2023-08-01T00:00:00.000Z", "to": "2023-09-30T00:00:00.000Z", "count": T,
                    "hasTiles": False},
        "kept": ["2023-08-29", "2023-09-04", "2023-09-10"]}
    out = result.outputs["default"]
    assert out.shape == (3, 6)
    np.testing.assert_array_equal(out, TEMPORAL["B04"][[2, 1, 0]])


def test_select_scenes_alone_returns_indices() -> None:
    with Evalscript.parse(PREPROCESS).session() as run:
        assert run.select_scenes(daily_scenes(T)) == [2, 1, 0]
        outputs = run.update_output(daily_scenes(3))
        assert [(o.id, o.bands) for o in outputs] == [("default", 3)]


def test_legacy_filter_scenes_in_a_v3_script_shares_state_with_later_hooks() -> None:
    source = """//VERSION=3
function setup() {
  return { input: ["B04"], output: { bands: 1, sampleType: "FLOAT32" }, mosaicking: "TILE" };
}
var dropped = [];
var filterScenes = function (scenes, inputMetadata) {
  const cutoff = inputMetadata.to.getTime() - 10 * 86400000;
  dropped = scenes.filter((s) => s.date.getTime() < cutoff).map((s) => s.date.toISOString().slice(0, 10));
  return scenes.filter((s) => s.date.getTime() >= cutoff);
};
function evaluatePixel(samples) { return [samples.length]; }
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) { outputMetadata.userData = { dropped }; }
"""
    scenes = daily_scenes(T)
    result = Evalscript.parse(source).run(TEMPORAL, scenes=scenes, time_to=scenes[0].date)
    assert result.kept == [0, 1]
    assert result.userdata == {"dropped": ["2023-08-29", "2023-08-23"]}
    np.testing.assert_array_equal(result.outputs["default"], 2)


def test_hook_returning_unknown_scene_is_an_error() -> None:
    source = PREPROCESS.replace("return collections;", "return { scenes: { orbits: [{ dateFrom: '1999-01-01' }] } };")
    with pytest.raises(EvalscriptRuntimeError, match="not offered"):
        Evalscript.parse(source).run(TEMPORAL, scenes=daily_scenes(T))


def test_empty_orbit_list_reaches_the_script() -> None:
    source = """//VERSION=3
function setup() { return { input: ["B04"], output: { bands: 1, sampleType: "FLOAT32" }, mosaicking: "ORBIT" }; }
function evaluatePixel(samples) { return samples.length === 0 ? [NaN] : [samples[0].B04]; }
"""
    result = Evalscript.parse(source).run({"B04": np.zeros((0, 5), np.float32)}, scenes=[])
    assert np.isnan(result.outputs["default"]).all()


FUSION = """//VERSION=3
function setup() {
  return {
    input: [{ datasource: "s2", bands: ["B04", "B08"] },
            { datasource: "S1GRD", bands: ["VV"], units: "LINEAR_POWER", mosaicking: "ORBIT" }],
    output: [{ id: "default", bands: 3, sampleType: "FLOAT32" }]
  };
}
function evaluatePixel(samples, scenes) {
  const s2 = samples.s2[0];
  const vv = samples.S1GRD.length ? samples.S1GRD[0].VV : NaN;
  return [index(s2.B08, s2.B04), vv, scenes.S1GRD.orbits.length + 10 * samples.s2.length];
}
"""


def test_data_fusion_samples_are_keyed_by_datasource() -> None:
    script = Evalscript.parse(FUSION)
    assert script.datasources == ["s2", "S1GRD"]
    assert script.inputs[1].units == {"VV": "LINEAR_POWER"}
    s2 = {"B04": np.array([0.1, 0.2], np.float32), "B08": np.array([0.3, 0.2], np.float32)}
    s1 = {"VV": np.array([[0.05, 0.07], [0.5, 0.5]], np.float32)}
    scenes = {"s2": daily_scenes(1), "S1GRD": daily_scenes(2, step_days=3)}
    result = script.run({"s2": s2, "S1GRD": s1}, scenes=scenes)
    assert result.kept == {"s2": [0], "S1GRD": [0, 1]}
    out = result.outputs["default"]
    np.testing.assert_allclose(out[0], [0.5, 0.0], atol=1e-6)
    np.testing.assert_array_equal(out[1], s1["VV"][0])
    np.testing.assert_array_equal(out[2], [12, 12])


def test_fusion_inputs_without_datasource_are_keyed_by_position() -> None:
    source = FUSION.replace('{ datasource: "s2", bands: ["B04", "B08"] }', '{ bands: ["B04", "B08"] }') \
        .replace("samples.s2", "samples['0']")
    assert Evalscript.parse(source).datasources == ["0", "S1GRD"]


def test_scene_dates_must_be_utc_or_naive() -> None:
    naive = Scene(date=datetime(2023, 9, 10, 12, 0), id="x")
    result = Evalscript.parse(SCENE_PROBE % "TILE").run(
        {"B04": TEMPORAL["B04"][:1], "dataMask": TEMPORAL["dataMask"][:1]}, scenes=[naive])
    assert result.userdata["seen"]["firstDate"] == "2023-09-10T12:00:00.000Z"
