"""Batches and strips: one session over many evaluate() calls, and strips inside one call."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import daily_scenes

import evaluator.session as session_module
from evaluator import Evalscript, EvalscriptRuntimeError

RNG = np.random.default_rng(3)

STATEFUL = """//VERSION=3
function setup() { return { input: ["B04", "dataMask"], output: { bands: 2, sampleType: "FLOAT32" } }; }
let count = 0;
function evaluatePixel(s) { count += s.dataMask; return [s.B04 * 2, count]; }
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) { outputMetadata.userData = { count }; }
"""

ORBIT = """//VERSION=3
function setup() {
  return { input: ["B04", "B08", "dataMask"], output: { bands: 2 }, mosaicking: "ORBIT" };
}
function evaluatePixel(samples) {
  let best = -Infinity, where = -1;
  samples.forEach((s, i) => { const v = index(s.B08, s.B04); if (s.dataMask && v > best) { best = v; where = i; } });
  return where < 0 ? [0, 0] : [best, where / 10];
}
"""


def test_global_state_carries_across_batches() -> None:
    b04 = RNG.uniform(0, 0.5, 90).astype(np.float32)
    mask = (RNG.random(90) > 0.3).astype(np.uint8)
    script = Evalscript.parse(STATEFUL)
    whole = script.run({"B04": b04, "dataMask": mask})
    with script.session() as run:
        parts = [run.evaluate({"B04": b04[s], "dataMask": mask[s]})
                 for s in (slice(0, 10), slice(10, 55), slice(55, 90))]
        userdata = run.finish()
    joined = np.concatenate([p["default"] for p in parts], axis=1)
    np.testing.assert_array_equal(joined, whole.outputs["default"])
    np.testing.assert_array_equal(joined[1], np.cumsum(mask))
    assert userdata == whole.userdata == {"count": int(mask.sum())}


@pytest.mark.parametrize("strip_values", [7, 64, 1000])
def test_strips_inside_one_call_equal_one_strip(monkeypatch: pytest.MonkeyPatch, strip_values: int) -> None:
    scenes = daily_scenes(5)
    samples = {"B04": RNG.uniform(0, 0.5, (5, 37, 11)).astype(np.float32),
               "B08": RNG.uniform(0, 0.5, (5, 37, 11)).astype(np.float32),
               "dataMask": (RNG.random((5, 37, 11)) > 0.2).astype(np.uint8)}
    script = Evalscript.parse(ORBIT)
    whole = script.run(samples, scenes=scenes).outputs["default"]
    monkeypatch.setattr(session_module, "STRIP_VALUES", strip_values)
    stripped = script.run(samples, scenes=scenes).outputs["default"]
    np.testing.assert_array_equal(stripped, whole)
    b4, b8 = samples["B04"].astype(np.float64), samples["B08"].astype(np.float64)
    ndvi = np.where(samples["dataMask"] == 1, (b8 - b4) / (b8 + b4), -np.inf)
    best = ndvi.max(axis=0)
    expected = np.clip(np.rint(best * 255), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(whole[0], np.where(np.isinf(best), 0, expected))


def test_dtype_change_between_batches_reconfigures() -> None:
    script = Evalscript.parse(STATEFUL)
    with script.session() as run:
        first = run.evaluate({"B04": np.array([0.25], np.float32), "dataMask": np.array([1], np.uint8)})
        second = run.evaluate({"B04": np.array([0.125, 1000], np.float64), "dataMask": np.array([1, 0], np.int32)})
    np.testing.assert_array_equal(first["default"], [[0.5], [1]])
    np.testing.assert_array_equal(second["default"], [[0.25, 2000], [2, 2]])


def test_empty_batch() -> None:
    out = Evalscript.parse(STATEFUL).run({"B04": np.zeros(0, np.float32), "dataMask": np.zeros(0, np.uint8)})
    assert out.outputs["default"].shape == (2, 0)
    assert out.userdata == {"count": 0}


@pytest.mark.parametrize("bad_pixel", [0, 511, 512, 5000, 40000, 99999])
def test_error_pixel_index_across_warm_up_calls_and_strips(monkeypatch: pytest.MonkeyPatch, bad_pixel: int) -> None:
    monkeypatch.setattr(session_module, "STRIP_VALUES", 30000)
    source = """//VERSION=3
function setup() { return { input: ["B04"], output: { bands: 1, sampleType: "FLOAT32" } }; }
function evaluatePixel(s) { if (s.B04 < 0) throw new RangeError("negative"); return [s.B04]; }
"""
    values = np.ones(100000, np.float32)
    values[bad_pixel] = -1
    with pytest.raises(EvalscriptRuntimeError, match="negative") as raised:
        Evalscript.parse(source).run({"B04": values})
    assert raised.value.pixel == bad_pixel
    values[bad_pixel] = 2
    out = Evalscript.parse(source).run({"B04": values}).outputs["default"]
    np.testing.assert_array_equal(out[0], values)
