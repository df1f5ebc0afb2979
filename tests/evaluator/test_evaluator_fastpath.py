"""The numpy fast path: which scripts it takes, and results equal to the V8 path on the same inputs."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import CORPUS_DIR, assert_identical, load_corpus_module, scenes_from_iso
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evaluator import Evalscript, EvalscriptError, Scene

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49999999999999994, 3.0, -7.25,
                    np.nan, np.inf, -np.inf, 1e300, -1e-300, 4294967296.5, 2147483648.0, -2147483649.0],
                   dtype=np.float64)


def _script(body: str, bands: tuple[str, ...] = ("A", "B"), out: str = 'bands: 1, sampleType: "FLOAT32"',
            prelude: str = "") -> str:
    names = ", ".join(f'"{b}"' for b in bands)
    return (f"//VERSION=3\n{prelude}\nfunction setup() {{ return {{ input: [{names}], output: {{ {out} }} }}; }}\n"
            f"function evaluatePixel(s) {{ {body} }}\n")


def _both(source: str, samples: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch,
          scenes: list[Scene] | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(fast path outputs, V8 outputs) of one script on the same samples (ORBIT/TILE: offered scenes)."""
    script = Evalscript.parse(source)
    assert script.fast_path, "expected the script to be translatable"
    fast = _evaluate(script, samples, scenes)
    assert fast[1] == "numpy"
    monkeypatch.setattr(script, "fast_path", False)
    slow = _evaluate(script, samples, scenes)
    assert slow[1] == "v8"
    return fast[0], slow[0]


def _evaluate(script: Evalscript, samples: dict[str, np.ndarray], scenes: list[Scene] | None
              ) -> tuple[dict[str, np.ndarray], str | None]:
    with script.session() as run:
        if scenes is None:
            return run.evaluate(samples), run.path
        kept = run.select_scenes(scenes)
        kept_scenes = run.pick(scenes, kept)
        run.update_output(kept_scenes)
        return run.evaluate(run.pick_samples(samples, kept), scenes=kept_scenes), run.path


def _pairs() -> dict[str, np.ndarray]:
    """Every pair of special values: A and B of shape (len^2,)."""
    a, b = np.meshgrid(SPECIAL, SPECIAL, indexing="ij")
    return {"A": a.ravel(), "B": b.ravel()}


EXACT_EXPRESSIONS = [
    "s.A + s.B", "s.A - s.B * 3", "s.A / s.B", "s.A % s.B", "-s.A % 2", "s.A ** s.B", "Math.pow(s.A, s.B)",
    "Math.round(s.A)", "Math.floor(s.A) + Math.ceil(s.B)", "Math.trunc(s.A)", "Math.sign(s.A)",
    "Math.abs(s.A) + Math.sqrt(s.B)", "Math.min(s.A, s.B, 2)", "Math.max(s.A, s.B)", "Math.max()",
    "Math.hypot(s.A, s.B)", "Math.fround(s.A)", "index(s.A, s.B)", "s.A > s.B ? s.A : s.B",
    "(s.A > 0 || s.B > 0) ? 1 : 0", "s.A || s.B", "s.A && s.B", "!s.A", "!(s.A < s.B) && s.B === s.B",
    "s.A == s.B", "s.A !== s.B", "(s.A > 1) + (s.B <= 0)", "(s.A > 1) < s.B", "(s.A > 1) == s.B",
    "(s.A > 1) === s.B", "(s.A > 1) !== 1", "s.A & s.B", "s.A | 7", "s.A ^ s.B", "~s.A",
    "s.A << s.B", "s.A >> 3", "s.A >>> s.B", "s.A ?? s.B", "Infinity * s.A", "NaN + s.B", "Math.PI * s.A",
    "0x10 * s.A + 1e-3", "-(-s.A)", "+s.B",
]


@pytest.mark.parametrize("expression", EXACT_EXPRESSIONS)
def test_expression_matches_v8_exactly(expression: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both(_script(f"return [{expression}];"), _pairs(), monkeypatch)
    assert_identical(fast["default"], slow["default"])


def test_if_return_chain_locals_and_object_return(monkeypatch: pytest.MonkeyPatch) -> None:
    source = """//VERSION=3
const GAIN = 2.5;
const CLASSES = [3, 8, -1];
function setup() {
  return { input: ["A", "B"], output: [{ id: "first", bands: 2, sampleType: "INT16" },
                                       { id: "second", bands: 1, sampleType: "FLOAT32" }] };
}
function evaluatePixel(s) {
  const sum = s.A + s.B;
  let ratio = index(s.A, s.B);
  if (s.A === 0) return { first: [0, 1], second: [s.B] };
  if (sum > 2) { return { first: [ratio, 2], second: [sum] }; } else if (ratio < 0) {
    const neg = -ratio; return { second: [ratio * 2], first: [neg, 3], extra: 1 };
  }
  return { first: [Math.round(sum * 10) / 10, CLASSES.includes(s.B)], second: GAIN * sum };
}
"""
    fast, slow = _both(source, _pairs(), monkeypatch)
    for out_id in ("first", "second"):
        np.testing.assert_array_equal(fast[out_id], slow[out_id])


@pytest.mark.parametrize("sample_type", ["AUTO", "UINT8", "UINT16", "INT16", "FLOAT32"])
def test_conversion_per_sample_type(sample_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    samples = {"A": rng.uniform(-2, 70000, (37, 29)).astype(np.float32),
               "B": rng.integers(0, 5000, (37, 29)).astype(np.uint16)}
    source = _script("return [s.A / 100, s.B * 0.01 - 0.5, Math.round(s.A) % 300];",
                     out=f'bands: 3, sampleType: "{sample_type}"')
    fast, slow = _both(source, samples, monkeypatch)
    assert fast["default"].shape == (3, 37, 29) and fast["default"].dtype == slow["default"].dtype
    np.testing.assert_array_equal(fast["default"], slow["default"])


def test_large_batch_runs_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(8)
    samples = {"A": rng.uniform(0, 1, 300_001).astype(np.float32), "B": rng.uniform(0, 1, 300_001).astype(np.float32)}
    fast, slow = _both(_script("return [index(s.A, s.B), s.A > 0.5 ? 1 : s.B];", out='bands: 2, sampleType: "FLOAT32"'),
                       samples, monkeypatch)
    np.testing.assert_array_equal(fast["default"], slow["default"])


NOT_TRANSLATABLE = {
    "global state": ("let n = 0;", "n++; return [n];"),
    "redefined index": ("function index(a, b) { return a * b; }", "return [index(s.A, s.B)];"),
    "redefined Math": ("const Math = { abs: (x) => 7 };", "return [Math.abs(s.A)];"),
    "patched Math.abs": ("Math.abs = (x) => 7;", "return [Math.abs(s.A)];"),
    "patched includes": ("const C = [1]; Array.prototype.includes = () => true;", "return [C.includes(s.A) ? 1 : 0];"),
    "helper replaced through globalThis": ("globalThis.index = (a, b) => a;", "return [index(s.A, s.B)];"),
    "helper replaced through this": ("this.index = (a, b) => a;", "return [index(s.A, s.B)];"),
    "sample object itself": ("", "return [s];"),
    "read before its declaration": ("const b = 1;", "const a = b; const b = 2; return [a];"),
    "constant shadowed by the parameter": ("const s = 3;", "return [s];"),
    "let constant may change": ("let GAIN = 2;", "return [GAIN * s.A];"),
    "mutable array": ("const C = [1, 2]; C.push(3);", "return [C.includes(s.A) ? 1 : 0];"),
    "helper function": ("", "return colorBlend(s.A, [0, 1], [[0, 0, 0], [1, 1, 1]]);"),
    "loop": ("", "let t = 0; for (let i = 0; i < 3; i++) t += s.A; return [t];"),
    "reassigned local": ("", "let v = s.A; if (v < 0) v = 0; return [v];"),
    "string": ("", "return [('x' + s.A).length];"),
    "mixed || types": ("", "return [(s.A > 0) || s.B];"),
    "missing band": ("", "return [s.C];"),
    "wrong band count": ("", "return [s.A, s.B];"),
    "falls through": ("", "if (s.A > 0) return [1];"),
    "uses scenes": ("", "return [s.A];\n} function unused(s, scenes) { return scenes;"),
}


@pytest.mark.parametrize("name", sorted(NOT_TRANSLATABLE))
def test_untranslatable_scripts_stay_in_v8(name: str) -> None:
    prelude, body = NOT_TRANSLATABLE[name]
    try:
        script = Evalscript.parse(_script(body, prelude=prelude))
    except EvalscriptError:
        pytest.fail("the test script itself should be valid JS")
    if name == "uses scenes":
        assert script.fast_path  # an unrelated function using scenes is no obstacle
        return
    assert not script.fast_path


def test_fallback_keeps_side_effects_right() -> None:
    script = Evalscript.parse(_script("n += 1; return [n];", prelude="let n = 0;"))
    assert not script.fast_path
    with script.session() as run:
        values = run.evaluate({"A": np.zeros(5, np.float32), "B": np.zeros(5, np.float32)})["default"]
        assert run.path == "v8"
    np.testing.assert_array_equal(values[0], [1, 2, 3, 4, 5])


_MODULE = load_corpus_module()
_CASES = [p.name for p in _MODULE.case_dirs(CORPUS_DIR)] if _MODULE is not None else []


@pytest.mark.parametrize("name", _CASES)
def test_corpus_case_takes_the_fast_path_only_when_it_matches(
        corpus: ModuleType, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case_dir = Path(CORPUS_DIR) / name
    case = corpus.load_case(case_dir)
    source = (case_dir / "script.js").read_text(encoding="utf-8")
    if case["expect_error"] is not None:
        try:
            script = Evalscript.parse(source)
        except EvalscriptError:
            return
        assert not script.fast_path, "a script that must fail cannot be translated"
        return
    script = Evalscript.parse(source)
    if not script.fast_path:
        # helpers (colorBlend, visualizers) and scripts that read scenes stay in V8
        assert name in {"02-ndvi-colorblend-alpha", "11-color-ramp-visualizer", "12-header-variant-arrow-hcv",
                        "10-tile-latest-valid"}
        return
    inputs, dates = corpus.make_inputs(case, name)
    scenes = scenes_from_iso(dates) if case["mosaicking"] != "SIMPLE" else None
    fast, slow = _both(source, inputs, monkeypatch, scenes)
    for out_id, values in slow.items():
        assert_identical(fast[out_id], values)
    expected = corpus.load_reference(case_dir)(inputs, dates)
    result = Evalscript.parse(source).run(inputs, scenes=scenes)  # the whole hook sequence, fast path on
    for out_id, values in fast.items():
        assert_identical(result.outputs[out_id], values)
    assert corpus.compare_outputs(case, expected, result.outputs, result.userdata) == []


# ---- property-based: random arithmetic expressions on random inputs with special values ---------

_LEAVES = st.sampled_from(["s.A", "s.B", "s.C", "0", "1", "2.5", "(-3)", "0.5", "NaN", "Infinity"])
_UNARY = ["(-({}))", "Math.abs({})", "Math.round({})", "Math.floor({})", "Math.sign({})", "(~({}))", "(!({}))",
          "Math.sqrt({})", "Math.trunc({})"]
_BINARY = ["({} + {})", "({} - {})", "({} * {})", "({} / {})", "({} % {})", "Math.min({}, {})",
           "Math.max({}, {})", "index({}, {})", "({} & {})", "({} | {})", "({} >> {})", "({} >>> {})",
           "({} < {} ? {} : {})", "(({} > 0) || ({} <= 1) ? 1 : 0)", "({} === {} ? 1 : 0)", "({} ** {})"]


def _expression(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return _LEAVES
    smaller = _expression(depth - 1)
    unary = st.tuples(st.sampled_from(_UNARY), smaller).map(lambda p: p[0].format(p[1]))
    binary = st.tuples(st.sampled_from(_BINARY), smaller, smaller, smaller, smaller).map(
        lambda p: p[0].format(*p[1:p[0].count("{}") + 1]))
    return st.one_of(smaller, unary, binary)


_VALUES = st.one_of(st.sampled_from(list(SPECIAL)), st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-5, 5).map(float))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expression=_expression(3), values=st.lists(st.tuples(_VALUES, _VALUES, _VALUES), min_size=1, max_size=12))
def test_random_expressions_match_v8(expression: str, values: list[tuple[float, float, float]],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Any bitwise difference in float64 would show in float32 too often to hide: compare exactly,
    except that ** goes through different pow implementations (then the corpus tolerance)."""
    arrays = np.array(values, dtype=np.float64).T
    samples = {"A": arrays[0], "B": arrays[1], "C": arrays[2]}
    source = _script(f"return [{expression}];", bands=("A", "B", "C"))
    assume(Evalscript.parse(source).fast_path)  # e.g. (a > 0) || b mixes types: V8 only
    with monkeypatch.context() as patch:
        fast, slow = _both(source, samples, patch)
    got, want = fast["default"], slow["default"]
    assert np.array_equal(np.isnan(got), np.isnan(want))
    if "**" in expression:
        finite = np.isfinite(want)
        assert np.array_equal(got[~finite & ~np.isnan(want)], want[~finite & ~np.isnan(want)])
        np.testing.assert_allclose(got[finite], want[finite], rtol=1e-5, atol=1e-6)
    else:
        assert_identical(got, want)
