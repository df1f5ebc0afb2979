"""Reused ORBIT/TILE sample objects: the static scan, and equal results with and without reuse."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import CORPUS_DIR, daily_scenes, load_corpus_module, scenes_from_iso

from evaluator import Evalscript
from evaluator.retention import escape_reason, samples_stay_local

HEADER = """//VERSION=3
function setup() {
  return { input: ["B04", "B08", "dataMask"], output: { bands: 2, sampleType: "FLOAT32" }, mosaicking: "ORBIT" };
}
"""

# evaluatePixel bodies (and globals) that keep, change or enumerate samples: reuse must be refused.
ESCAPING = {
    "push into a global array": "let kept = []; function evaluatePixel(samples) { kept.push(samples[0]); "
                                "return [kept.length, 0]; }",
    "assign to a global": "let last; function evaluatePixel(samples) { last = samples[0]; return [1, 0]; }",
    "destructure into globals": "let a, b; function evaluatePixel(samples) { [a, b] = samples; return [1, 0]; }",
    "closure kept": "let fs = []; function evaluatePixel(samples) { fs.push(() => samples); return [1, 0]; }",
    "function declaration kept": "let g; function evaluatePixel(samples) { function h() { return samples; } "
                                 "g = h; return [1, 0]; }",
    "closure over a later sample": "let G; function evaluatePixel(samples) { let x; const f = () => x; G = f; "
                                   "x = samples[0]; return [1, 0]; }",
    "helper that stores": "let k; function store(s) { k = s; } function evaluatePixel(samples) { "
                          "store(samples[0]); return [1, 0]; }",
    "property of a global object": "const box = {}; function evaluatePixel(samples) { box.s = samples[1]; "
                                   "return [1, 0]; }",
    "this property": "function evaluatePixel(samples) { this.kept = samples[0]; return [1, 0]; }",
    "block-scoped shadow": "function evaluatePixel(samples) { { let keep; } keep = samples[0]; return [1, 0]; }",
    "reduce result kept": "let m; function evaluatePixel(samples) { m = samples.reduce((a, s) => s, null); "
                          "return [1, 0]; }",
    "mutation": "function evaluatePixel(samples) { samples[0].B04 = 1; return [1, 0]; }",
    "new property": "function evaluatePixel(samples) { samples[0].seen = true; return [1, 0]; }",
    "Object.keys": "function evaluatePixel(samples) { return [Object.keys(samples[0]).length, 0]; }",
    "for-in keys": "function evaluatePixel(samples) { let n = 0; for (const k in samples[0]) n++; return [n, 0]; }",
    "object spread": "function evaluatePixel(samples) { const c = { ...samples[0] }; return [c.B04, 0]; }",
    "JSON": "function evaluatePixel(samples) { return [JSON.stringify(samples).length, 0]; }",
    "thrown": "function evaluatePixel(samples) { try { throw samples[0]; } catch (e) { return [e.B04, 0]; } }",
    "eval": "function evaluatePixel(samples) { eval('1'); return [1, 0]; }",
    "callback not inline": "function f(s) { return s.B04; } function evaluatePixel(samples) { "
                           "return [samples.map(f)[0], 0]; }",
    "evaluatePixel reassigned": "function evaluatePixel(samples) { return [1, 0]; } "
                                "evaluatePixel = function (samples) { return [2, 0]; };",
}

# Scripts that only read samples within the call: reuse is allowed.
LOCAL = {
    "for-of and a local best": "function evaluatePixel(samples) { let best = null; for (const s of samples) "
                               "{ if (!best || s.B04 > best.B04) best = s; } return [best ? best.B04 : 0, 0]; }",
    "helper that reads": "function ndvi(s) { return index(s.B08, s.B04); } "
                         "function evaluatePixel(samples) { return [ndvi(samples[0]), samples.length]; }",
    "map, spread into Math.max": "function evaluatePixel(samples) { "
                                 "return [Math.max(...samples.map((s) => s.B04)), 0]; }",
    "filter and sort": "function evaluatePixel(samples) { const v = samples.filter((s) => s.dataMask)"
                       ".sort((a, b) => a.B04 - b.B04); return [v.length ? v[0].B04 : 0, v.length]; }",
    "destructuring": "function evaluatePixel(samples) { const [a, b] = samples; const { B04 } = a; "
                     "return [B04, b.B08]; }",
    "arrow hook": "const evaluatePixel = (samples) => [samples[0].B04, samples.length];",
}


@pytest.mark.parametrize("name", sorted(ESCAPING))
def test_scan_refuses_scripts_that_keep_or_change_samples(name: str) -> None:
    assert escape_reason(HEADER + ESCAPING[name]) is not None


@pytest.mark.parametrize("name", sorted(LOCAL))
def test_scan_accepts_scripts_that_only_read_samples(name: str) -> None:
    assert escape_reason(HEADER + LOCAL[name]) is None


def test_scan_refuses_unparsable_source() -> None:
    assert not samples_stay_local(HEADER + "function evaluatePixel(samples) { return [1, 0]; ")


def _bands(rng: np.random.Generator, dates: int, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    bands = {b: rng.uniform(0, 0.6, (dates, *shape)).astype(np.float32) for b in ("B04", "B08")}
    bands["dataMask"] = (rng.random((dates, *shape)) > 0.2).astype(np.uint8)
    return bands


def _run(script: Evalscript, bands: dict[str, np.ndarray], scenes: list, reuse: bool,
         monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    monkeypatch.setattr(script, "reuses_samples", reuse)
    with script.session() as run:
        run.update_output(scenes)
        return run.evaluate(bands, scenes)


def test_script_keeping_samples_still_sees_each_pixels_own_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Band 0 reads a sample kept from the previous pixel: it must hold that pixel's values."""
    source = HEADER + """
let previous = null;
function evaluatePixel(samples) {
  const before = previous === null ? -1 : previous.B04;
  previous = samples[0];
  return [before, samples[0].B04];
}
"""
    script = Evalscript.parse(source)
    assert script.reuses_samples is False
    bands = _bands(np.random.default_rng(1), 3, (4, 50))
    result = _run(script, bands, daily_scenes(3), False, monkeypatch)["default"].reshape(2, -1)
    b04 = bands["B04"][0].reshape(-1)
    np.testing.assert_array_equal(result[1], b04)
    np.testing.assert_array_equal(result[0, 1:], b04[:-1])
    assert result[0, 0] == -1
    # The reused objects would have shown the current pixel instead: the scan is what keeps this right.
    forced = _run(Evalscript.parse(source), bands, daily_scenes(3), True, monkeypatch)["default"].reshape(2, -1)
    np.testing.assert_array_equal(forced[0, 1:], b04[1:])


@pytest.mark.parametrize("name", sorted(LOCAL))
def test_reused_samples_give_the_same_arrays(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    script = Evalscript.parse(HEADER + LOCAL[name])
    assert script.reuses_samples is True
    bands = _bands(np.random.default_rng(2), 5, (6, 40))
    reused = _run(script, bands, daily_scenes(5), True, monkeypatch)
    fresh = _run(script, bands, daily_scenes(5), False, monkeypatch)
    np.testing.assert_array_equal(reused["default"], fresh["default"])


def test_many_scenes_use_the_pool_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """More scenes than the unrolled limit: the per-pixel array is copied from the pool."""
    script = Evalscript.parse(HEADER + LOCAL["filter and sort"])
    bands = _bands(np.random.default_rng(4), 40, (3, 30))
    reused = _run(script, bands, daily_scenes(40, 1), True, monkeypatch)
    fresh = _run(script, bands, daily_scenes(40, 1), False, monkeypatch)
    np.testing.assert_array_equal(reused["default"], fresh["default"])


_MODULE = load_corpus_module()
_TEMPORAL = [p.name for p in _MODULE.case_dirs(CORPUS_DIR)
             if _MODULE.load_case(p)["mosaicking"] != "SIMPLE"] if _MODULE is not None else []


@pytest.mark.parametrize("name", _TEMPORAL)
def test_corpus_temporal_cases_reuse_samples_with_identical_results(
        corpus: ModuleType, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case_dir = Path(CORPUS_DIR) / name
    case = corpus.load_case(case_dir)
    inputs, dates = corpus.make_inputs(case, name)
    scenes = scenes_from_iso(dates)
    script = Evalscript.parse((case_dir / "script.js").read_text(encoding="utf-8"))
    assert script.reuses_samples is True
    reused = script.run(inputs, scenes=scenes)
    monkeypatch.setattr(script, "reuses_samples", False)
    fresh = script.run(inputs, scenes=scenes)
    for out_id, values in fresh.outputs.items():
        np.testing.assert_array_equal(reused.outputs[out_id], values)
    assert reused.userdata == fresh.userdata
