"""The ORBIT/TILE numpy fast path: which scripts it takes, and results equal to V8 on the same inputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import assert_identical, daily_scenes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator import (
    Evalscript,
    EvalscriptOutputError,
    EvalscriptRuntimeError,
    EvalscriptTimeout,
    Scene,
)
from evaluator.loopframe import LOOP_CHUNK_PIXELS

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, np.nan, np.inf, -np.inf, 0.25, 3.0], dtype=np.float64)


def _script(body: str, out: str = 'bands: 1, sampleType: "FLOAT32"', mosaicking: str = "ORBIT",
            prelude: str = "", params: str = "samples") -> str:
    return (f"//VERSION=3\n{prelude}\nfunction setup() {{ return {{ input: [\"A\", \"B\", \"dataMask\"], "
            f"output: {{ {out} }}, mosaicking: \"{mosaicking}\" }}; }}\n"
            f"function evaluatePixel({params}) {{\n{body}\n}}\n")


def _samples(scenes: int, pixels: int, seed: int = 3) -> dict[str, np.ndarray]:
    """Band A and B drawn from special values (so ties, zeros of both signs, NaN and infinities
    meet), dataMask mostly 1."""
    rng = np.random.default_rng(seed)
    return {"A": rng.choice(SPECIAL, (scenes, pixels)), "B": rng.choice(SPECIAL, (scenes, pixels)),
            "dataMask": (rng.random((scenes, pixels)) > 0.2).astype(np.uint8)}


def _run(script: Evalscript, samples: dict[str, np.ndarray], scenes: list[Scene]) -> tuple[dict, str | None]:
    with script.session() as run:
        run.update_output(scenes)
        return run.evaluate(samples, scenes), run.path


def _both(source: str, samples: dict[str, np.ndarray], scenes: list[Scene], monkeypatch: pytest.MonkeyPatch
          ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(fast path outputs, V8 outputs) of one temporal script on the same samples."""
    script = Evalscript.parse(source)
    assert script.fast_path, "expected the script to be translatable"
    fast, path = _run(script, samples, scenes)
    assert path == "numpy"
    monkeypatch.setattr(script, "fast_path", False)
    slow, path = _run(script, samples, scenes)
    assert path == "v8"
    return fast, slow


TRANSLATABLE = {
    "max index with continue": """
  let best = NaN;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s.dataMask !== 1) continue;
    const v = index(s.A, s.B);
    if (!(v <= best)) best = v;
  }
  return [best];""",
    "count, sum and mean": """
  let n = 0, sum = 0;
  for (const s of samples) {
    if (s.dataMask) { n++; sum += s.A; }
  }
  return [n === 0 ? NaN : sum / n];""",
    "Math.max / Math.min accumulation": """
  let hi = -Infinity;
  let lo = Infinity;
  for (let i = 0; i < samples.length; i += 1) {
    hi = Math.max(hi, samples[i].A);
    lo = Math.min(lo, samples[i].B);
  }
  return [hi - lo];""",
    "first valid with break": """
  let value = -1;
  for (const s of samples) {
    if (s.dataMask === 1 && s.A > 0) { value = s.B; break; }
  }
  return [value];""",
    "return inside the loop": """
  for (let i = 0; i < samples.length; i++) {
    if (samples[i].dataMask === 1 && samples[i].B < 0.5) return [samples[i].A * 10 + i];
  }
  return [-7];""",
    "greenest sample by reference": """
  let best = null;
  let bestValue = -Infinity;
  for (const s of samples) {
    if (s.dataMask !== 1) continue;
    const v = index(s.A, s.B);
    if (v > bestValue) { bestValue = v; best = s; }
  }
  if (best === null) return [0];
  return [best.A + 2 * best["B"]];""",
    "latest two by destructuring": """
  if (samples.length < 2) return [samples.length];
  const [latest, previous] = samples;
  if (latest.dataMask === 0 || previous.dataMask === 0) return [NaN];
  return [index(latest.A, latest.B) - index(previous.A, previous.B)];""",
    "oldest sample": """
  if (samples.length === 0) return [NaN];
  const oldest = samples[samples.length - 1];
  return [oldest.A];""",
    "else branches, decrement, compound ops": """
  let score = 100;
  let flags = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s.A > s.B) {
      score -= s.A;
    } else if (s.A === s.B) {
      score--;
    } else {
      score *= 0.5;
      flags |= 1 << i;
    }
  }
  return [score + flags];""",
    "old-style var": """
  var total = 0;
  for (var i = 0; i < samples.length; i++) {
    var s = samples[i];
    if (s.dataMask == 0) continue;
    total = total + s.A * s.B;
  }
  return [total];""",
    "counter and length arithmetic": """
  let acc = 0;
  for (let i = 0; i < samples.length; i++) {
    acc += (samples.length % i) + (i % samples.length) + (i / i) + Math.pow(i, samples.length) + (2 ** -i);
  }
  return [acc + samples.length / 0 + (samples.length - samples.length) % 0];""",
    "guarded reads of later samples": """
  let change = 0;
  let previous = null;
  if (samples.length > 2) previous = samples[2];
  if (samples.length > 1) change = samples[0].A - samples[1].A;
  if (previous !== null) change += previous.B;
  return [change];""",
    "boolean local": """
  let seen = false;
  for (const s of samples) {
    const clear = s.dataMask === 1 && !(s.B > 0.5);
    if (clear) seen = true;
  }
  return [seen ? 1 : 0];""",
    "several outputs": """
  let total = 0;
  for (const s of samples) total += s.dataMask;
  if (total === 0) return { default: [NaN], count: [0, 0] };
  return { default: [total / samples.length], count: [total, samples.length] };""",
}
OUTPUTS = {"several outputs": '{ id: "default", bands: 1, sampleType: "FLOAT32" }, '
                              '{ id: "count", bands: 2, sampleType: "UINT8" }'}


def _source(name: str, mosaicking: str = "ORBIT") -> str:
    out = OUTPUTS.get(name)
    if out is not None:
        return _script(TRANSLATABLE[name], mosaicking=mosaicking).replace(
            'output: { bands: 1, sampleType: "FLOAT32" }', f"output: [{out}]")
    return _script(TRANSLATABLE[name], mosaicking=mosaicking)


@pytest.mark.parametrize("scenes", [0, 1, 2, 5, 40])
@pytest.mark.parametrize("name", sorted(TRANSLATABLE))
def test_loop_script_matches_v8_exactly(name: str, scenes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _source(name, mosaicking="TILE" if scenes == 2 else "ORBIT")
    fast, slow = _both(source, _samples(scenes, 400, seed=scenes), daily_scenes(scenes), monkeypatch)
    for out_id, values in slow.items():
        assert_identical(fast[out_id], values)


HELPERS = """
const GAIN = 2.5;
function ndvi(s) { return index(s.A, s.B); }
const valid = (sample) => sample.dataMask === 1 && !isNaN2(sample.A);
function isNaN2(x) { return x !== x; }
function scaled(value, by) { return value * by + GAIN; }"""


@pytest.mark.parametrize("scenes", [0, 3])
def test_top_level_helpers_are_inlined(scenes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    body = """
  let best = -Infinity;
  for (const s of samples) {
    if (!valid(s)) continue;
    best = Math.max(best, scaled(ndvi(s), samples.length));
  }
  return [scaled(best, 2)];"""
    fast, slow = _both(_script(body, prelude=HELPERS), _samples(scenes, 500, seed=9), daily_scenes(scenes),
                       monkeypatch)
    assert_identical(fast["default"], slow["default"])


def test_large_tile_runs_in_chunks_and_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    pixels = 2 * LOOP_CHUNK_PIXELS + 123
    samples = _samples(4, pixels, seed=11)
    fast, slow = _both(_source("greenest sample by reference"), samples, daily_scenes(4), monkeypatch)
    assert_identical(fast["default"], slow["default"])
    assert fast["default"].shape == (1, pixels)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32, np.uint32, np.bool_, np.int64,
                                   np.float32])
def test_band_compared_with_whole_numbers_in_any_dtype(dtype: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """Integer bands are compared without converting them; literals outside the dtype's range or
    not whole take the float64 way. Either way V8's answer."""
    rng = np.random.default_rng(4)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    low, high = (max(int(info.min), -40000), min(int(info.max), 70000)) if info is not None else (-3, 3)
    values = rng.integers(low, high, (3, 200), endpoint=True)
    values[:, :6] = [low, high, 0, 1, -1 if low < 0 else 2, 255 if high >= 255 else high]
    samples = {"A": values.astype(dtype), "B": rng.uniform(0, 1, (3, 200)), "dataMask": np.ones((3, 200), np.uint8)}
    body = """
  let code = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s.A) code += 1;
    if (s.A === 0) code += 2;
    if (1 == s.A) code += 4;
    if (s.A > 255) code += 8;
    if (s.A <= -1) code += 16;
    if (s.A !== 300) code += 32;
    if (s.A >= -32768) code += 64;
    if (s.A < 0.5) code += 128;
    if (samples[0]["A"] !== 65535) code += 256;
    code *= 2;
  }
  return [code];"""
    fast, slow = _both(_script(body, out='bands: 1, sampleType: "FLOAT32"'), samples, daily_scenes(3), monkeypatch)
    assert_identical(fast["default"], slow["default"])


def test_pixel_shape_and_integer_dtypes_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    samples = {"A": rng.integers(0, 10000, (3, 17, 9), dtype=np.uint16),
               "B": rng.uniform(0, 1, (3, 17, 9)).astype(np.float32),
               "dataMask": rng.integers(0, 2, (3, 17, 9), dtype=np.uint8)}
    source = _script(TRANSLATABLE["count, sum and mean"], out='bands: 1, sampleType: "UINT16"')
    fast, slow = _both(source, samples, daily_scenes(3), monkeypatch)
    assert fast["default"].shape == (1, 17, 9) and fast["default"].dtype == np.uint16
    assert_identical(fast["default"], slow["default"])


NOT_TRANSLATABLE = {
    "uses scenes": ("", "return [scenes.length];", "samples, scenes"),
    "samples.map with a block body": ("", "return samples.map((s) => { return s.A; });", "samples"),
    "samples.map returning samples": ("", "return samples.map((s) => s);", "samples"),
    "samples escape": ("", "return samples;", "samples"),
    "sample returned": ("", "return [samples[0]];", "samples"),
    "nested loop": ("", "let t = 0; for (const a of samples) { for (const b of samples) t += a.A * b.B; } "
                        "return [t];", "samples"),
    "while loop": ("", "let i = 0; while (i < samples.length) i++; return [i];", "samples"),
    "var counter read after the loop": ("", "var t = 0; for (var i = 0; i < samples.length; i++) t += samples[i].A; "
                                            "return [t + i];", "samples"),
    "var read outside its block": ("", "if (samples.length > 0) { var t = samples[0].A; } return [t];", "samples"),
    "counter changed in the body": ("", "let t = 0; for (let i = 0; i < samples.length; i++) { t += samples[i].A; "
                                        "i++; } return [t];", "samples"),
    "loop bound other than length": ("", "let t = 0; for (let i = 0; i <= samples.length; i++) t += 1; "
                                         "return [t];", "samples"),
    "per-pixel index": ("", "const k = samples[0].A > 0 ? 1 : 0; return [samples[k].B];", "samples"),
    "labelled break": ("", "let t = 0; outer: for (const s of samples) { t += s.A; break outer; } return [t];",
                       "samples"),
    "global state": ("let calls = 0;", "calls++; return [calls];", "samples"),
    "sample kept in a global": ("let last = null;", "last = samples[0]; return [1];", "samples"),
    "sample reference read as a number": ("", "let best = null; for (const s of samples) best = s; "
                                              "return [best ? 1 : 0];", "samples"),
    "prototype patched": ("Array.prototype[Symbol.iterator] = function* () {};",
                          "let t = 0; for (const s of samples) t += s.A; return [t];", "samples"),
    "__proto__ patched": ("[].__proto__.x = 1;", "let t = 0; for (const s of samples) t += s.A; return [t];",
                          "samples"),
    "band that is not an input": ("", "let t = 0; for (const s of samples) t += s.C; return [t];", "samples"),
    "shadowed name": ("", "let t = 0; for (const s of samples) { const t = s.A; } return [t];", "samples"),
    "helper with statements": ("function f(s) { const a = s.A; return a; }",
                               "let t = 0; for (const s of samples) t += f(s); return [t];", "samples"),
    "helper ignoring a parameter": ("function f(s, unused) { return s.A; }",
                                    "let t = 0; for (const s of samples) t += f(s, samples[9].B); return [t];",
                                    "samples"),
    "helper reading a global let": ("let k = 2; function f(s) { return s.A * k; }",
                                    "let t = 0; for (const s of samples) t += f(s); return [t];", "samples"),
    "recursive helper": ("function f(x) { return x > 1 ? f(x - 1) : x; }", "return [f(samples.length)];",
                         "samples"),
    "helper using this": ("function f(x) { return this.k * x; }", "return [f(samples.length)];", "samples"),
    "huge literal index": ("", "return [samples[1e400].A];", "samples"),
}


@pytest.mark.parametrize("name", sorted(NOT_TRANSLATABLE))
def test_untranslatable_loop_scripts_stay_in_v8(name: str) -> None:
    prelude, body, params = NOT_TRANSLATABLE[name]
    script = Evalscript.parse(_script(body, prelude=prelude, params=params))
    assert not script.fast_path


PER_DATE = """
function updateOutput(outputs, collection) { outputs.default.bands = collection.scenes.length; }"""


@pytest.mark.parametrize("scenes", [0, 1, 4])
@pytest.mark.parametrize("mapper", ["(s) => (s.dataMask === 1 ? index(s.A, s.B) : NaN)", "(s, i) => s.A * i + n",
                                    "s => Math.max(s.A, s.B)"])
def test_samples_map_gives_one_band_per_scene(mapper: str, scenes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _script(f"const n = samples.length;\n  return samples.map({mapper});", prelude=PER_DATE)
    fast, slow = _both(source, _samples(scenes, 300, seed=scenes), daily_scenes(scenes), monkeypatch)
    assert fast["default"].shape == (scenes, 300)
    assert_identical(fast["default"], slow["default"])


def test_samples_map_with_the_wrong_band_count_fails_as_in_v8() -> None:
    script = Evalscript.parse(_script("return samples.map((s) => s.A);"))  # 1 band declared
    assert script.fast_path
    with script.session() as run, pytest.raises(EvalscriptOutputError, match="returned 3 values, expected 1 bands"):
        run.evaluate(_samples(3, 10), daily_scenes(3))
    assert run.path == "v8"


def test_script_reading_no_band_still_sees_every_scene() -> None:
    source = _script("return [samples.length * 2];").replace('input: ["A", "B", "dataMask"]', 'input: ["A"]')
    script = Evalscript.parse(source)
    assert script.fast_path
    with script.session() as run:
        run.update_output(daily_scenes(3))
        values = run.evaluate({"A": np.zeros((3, 4, 5))}, daily_scenes(3))["default"]
        assert run.path == "numpy"
    np.testing.assert_array_equal(values, np.full((1, 4, 5), 6.0, np.float32))


def test_missing_sample_bails_out_to_v8_and_reports_its_error() -> None:
    """samples[1] does not exist with one scene: V8 raises the TypeError, not the fast path."""
    script = Evalscript.parse(_script("return [samples[1].A];"))
    assert script.fast_path
    samples = _samples(1, 10)
    with script.session() as run, pytest.raises(EvalscriptRuntimeError, match=r"TypeError|undefined") as raised:
        run.evaluate(samples, daily_scenes(1))
    assert run.path == "v8"
    assert raised.value.line == 5
    with script.session() as run:  # with two scenes the same script runs in numpy
        values = run.evaluate(_samples(2, 10), daily_scenes(2))["default"]
        assert run.path == "numpy" and values.shape == (1, 10)


def test_null_reference_read_bails_out_to_v8() -> None:
    body = """
  let best = null;
  for (const s of samples) if (s.dataMask === 1) best = s;
  return [best.A];"""
    script = Evalscript.parse(_script(body))
    assert script.fast_path
    samples = _samples(3, 50)
    samples["dataMask"][:] = 1
    with script.session() as run:
        run.evaluate(samples, daily_scenes(3))
        assert run.path == "numpy"
    samples["dataMask"][:, 7] = 0  # pixel 7 keeps best === null
    with script.session() as run, pytest.raises(EvalscriptRuntimeError, match="null") as raised:
        run.evaluate(samples, daily_scenes(3))
    assert raised.value.pixel == 7


def test_pixel_without_return_bails_out_to_v8() -> None:
    body = "for (const s of samples) { if (s.A > 0) return [1]; }\n  if (false) return [0];"
    script = Evalscript.parse(_script(body))
    assert script.fast_path
    samples = _samples(2, 30)
    samples["A"][:, 0] = -1.0
    with script.session() as run, pytest.raises(EvalscriptOutputError, match="no value"):
        run.evaluate(samples, daily_scenes(2))
    assert run.path == "v8"


# ---- property-based: random loop bodies on random special values --------------------------------

_LEAF = st.sampled_from(["s.A", "s.B", "s.dataMask", "acc", "n", "i", "samples.length", "0.5", "-2", "NaN", "0"])
_EXPR = st.one_of(_LEAF, st.tuples(_LEAF, st.sampled_from(["+", "-", "*", "/", "%"]), _LEAF).map(
    lambda p: f"({p[0]} {p[1]} {p[2]})"), st.tuples(_LEAF, _LEAF).map(lambda p: f"Math.max({p[0]}, {p[1]})"),
    st.tuples(_LEAF, _LEAF).map(lambda p: f"index({p[0]}, {p[1]})"),
    st.tuples(_LEAF, _LEAF).map(lambda p: f"twice_minus({p[0]}, {p[1]})"), st.just("greener(s)"))
_HELPERS = """function twice_minus(a, b) { return a * 2 - b; }
const greener = (sample) => sample.B > sample.A ? sample.B : -sample.A;"""
_LOOPS = ["for (let i = 0; i < samples.length; i++) {\n    const s = samples[i];",
          "for (var i = 0; i < samples.length; i += 1) {\n    var s = samples[i];"]
_COND = st.one_of(
    st.tuples(_EXPR, st.sampled_from(["<", ">=", "===", "!=="]), _EXPR).map(lambda p: f"{p[0]} {p[1]} {p[2]}"),
    st.sampled_from(["best === null", "null != best", "s.dataMask", "!(s.A > acc)"]))
_STATEMENT = st.one_of(
    _EXPR.map(lambda e: f"acc = {e};"), _EXPR.map(lambda e: f"acc += {e};"), st.just("n++;"),
    _COND.map(lambda c: f"if ({c}) continue;"), _COND.map(lambda c: f"if ({c}) break;"),
    st.tuples(_COND, _EXPR).map(lambda p: f"if ({p[0]}) return [{p[1]}];"),
    _COND.map(lambda c: f"if ({c}) best = s;"),
    st.tuples(_COND, _EXPR, _EXPR).map(lambda p: f"if ({p[0]}) {{ acc = {p[1]}; }} else {{ n -= {p[2]}; }}"),
    st.tuples(_COND, _EXPR).map(lambda p: f"if ({p[0]}) {{ const t = {p[1]}; acc *= t; }} else break;"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statements=st.lists(_STATEMENT, min_size=1, max_size=5), scenes=st.integers(0, 4),
       seed=st.integers(0, 1000), loop=st.sampled_from(_LOOPS))
def test_random_loops_match_v8(statements: list[str], scenes: int, seed: int, loop: str,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    body = ("  let acc = 0;\n  let n = 0;\n  let best = null;\n  " + loop + "\n    "
            + "\n    ".join(statements) + "\n  }\n  if (best === null) return [acc + n];\n  return [best.B + acc];")
    with monkeypatch.context() as patch:
        fast, slow = _both(_script(body, prelude=_HELPERS), _samples(scenes, 64, seed), daily_scenes(scenes), patch)
    assert_identical(fast["default"], slow["default"])


def test_fast_path_keeps_the_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget is checked between chunks: a clock that jumps an hour per reading times out."""
    script = Evalscript.parse(_source("count, sum and mean"))
    samples = _samples(2, 3 * LOOP_CHUNK_PIXELS)
    with script.session(timeout_s=60.0) as run:
        run.update_output(daily_scenes(2))
        readings = iter(range(0, 10**7, 3600))
        clock = SimpleNamespace(monotonic=lambda: float(next(readings)))
        monkeypatch.setattr("evaluator.session.time", clock)  # this module's clock only
        with pytest.raises(EvalscriptTimeout, match="timeout"):
            run.evaluate(samples, daily_scenes(2))
        assert run.path == "numpy"
