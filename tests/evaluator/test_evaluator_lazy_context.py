"""A session makes its V8 context only when something needs it: a script on the numpy fast path that defines
no hook besides setup() and evaluatePixel never starts V8 for a tile; any other hook, or a batch the fast path
hands back to V8, gets a context with setup() run and the outputs set, as an eager session would."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import daily_scenes

from evaluator import Evalscript, EvalscriptRuntimeError

SIMPLE = """//VERSION=3
function setup() { return {input: ["A", "dataMask"], output: {bands: 2, sampleType: "FLOAT32"}}; }
function evaluatePixel(s) { return [s.A * 2 + 1, s.dataMask]; }
"""
WITH_METADATA = SIMPLE + """
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {note: "kept"};
}
"""
WITH_UPDATE_OUTPUT = """//VERSION=3
function setup() { return {input: ["A"], output: {id: "series", bands: 1, sampleType: "FLOAT32"},
                           mosaicking: "ORBIT"}; }
function updateOutput(outputs, collection) { outputs.series.bands = collection.scenes.length; }
function evaluatePixel(samples) { return samples.map((s) => s.A); }
"""
WITH_PRE_PROCESS = """//VERSION=3
function setup() { return {input: ["A"], output: {bands: 1, sampleType: "FLOAT32"}, mosaicking: "ORBIT"}; }
function preProcessScenes(collections) {
  collections.scenes.orbits = collections.scenes.orbits.slice(0, 1);
  return collections;
}
function evaluatePixel(samples) { return [samples.length]; }
"""
ORBIT_FIRST = """//VERSION=3
function setup() { return {input: ["A"], output: {bands: 1, sampleType: "FLOAT32"}, mosaicking: "ORBIT"}; }
function evaluatePixel(samples) { return [samples[1].A]; }
"""


def test_a_fast_path_script_without_other_hooks_runs_a_tile_without_v8() -> None:
    script = Evalscript.parse(SIMPLE)
    assert script.fast_path and not script.needs_v8_per_session
    values = np.array([0.0, 1.5, -2.0, np.nan], np.float32)
    with script.session() as run:
        assert run.select_scenes(daily_scenes(3)) == [0, 1, 2]
        assert [(o.id, o.bands) for o in run.update_output([])] == [("default", 2)]
        out = run.evaluate({"A": values, "dataMask": np.array([1, 1, 0, 1], np.uint8)})["default"]
        assert run.finish() is None
        assert run.path == "numpy" and not run.uses_v8
    np.testing.assert_array_equal(out[0], values * 2 + 1)
    np.testing.assert_array_equal(out[1], [1, 1, 0, 1])


@pytest.mark.parametrize("source", [WITH_METADATA, WITH_UPDATE_OUTPUT, WITH_PRE_PROCESS])
def test_a_script_with_another_hook_has_v8_from_the_start(source: str) -> None:
    script = Evalscript.parse(source)
    assert script.needs_v8_per_session
    with script.session() as run:
        assert run.uses_v8


def test_the_hooks_run_in_v8() -> None:
    with Evalscript.parse(WITH_METADATA).session() as run:
        run.update_output([])
        run.evaluate({"A": np.zeros(3), "dataMask": np.ones(3, np.uint8)})
        assert run.finish() == {"note": "kept"}
    with Evalscript.parse(WITH_UPDATE_OUTPUT).session() as run:
        assert [o.bands for o in run.update_output(daily_scenes(4))] == [4]
    with Evalscript.parse(WITH_PRE_PROCESS).session() as run:
        assert run.select_scenes(daily_scenes(3)) == [0]


def test_a_batch_handed_back_to_v8_gets_a_context_with_the_outputs_set() -> None:
    """samples[1] does not exist with one scene: the fast path hands the batch to V8, whose context is made
    then (setup run, outputs as update_output set them) and reports the script's own error and line."""
    script = Evalscript.parse(ORBIT_FIRST)
    assert script.fast_path and not script.needs_v8_per_session
    with script.session() as run:
        run.update_output(daily_scenes(1))
        assert not run.uses_v8
        with pytest.raises(EvalscriptRuntimeError, match=r"TypeError|undefined") as raised:
            run.evaluate({"A": np.ones((1, 5))}, daily_scenes(1))
        assert run.uses_v8 and run.path == "v8" and raised.value.line == 3


def test_a_closed_session_does_not_start_v8_again() -> None:
    script = Evalscript.parse(ORBIT_FIRST)
    run = script.session()
    run.close()
    with pytest.raises(Exception, match="closed"):
        run.evaluate({"A": np.ones((1, 5))}, daily_scenes(1))
