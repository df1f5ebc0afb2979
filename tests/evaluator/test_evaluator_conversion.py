"""Output sample type conversion (spec §3; corpus README table), directly and end to end."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator import Evalscript
from evaluator.conversion import convert_values

RAW = np.array([-1e9, -200.5, -0.4, 0.0, 0.5, 1.5, 2.5, 40.6, 127.5, 310.0, 40000.4, 70000.0, 1e12,
                np.nan, np.inf, -np.inf])


@pytest.mark.parametrize(("sample_type", "expected"), [
    # rint rounds half to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 127.5 -> 128, -200.5 -> -200
    ("UINT8", [0, 0, 0, 0, 0, 2, 2, 41, 128, 255, 255, 255, 255, 0, 255, 0]),
    ("INT8", [-128, -128, 0, 0, 0, 2, 2, 41, 127, 127, 127, 127, 127, 0, 127, -128]),
    ("UINT16", [0, 0, 0, 0, 0, 2, 2, 41, 128, 310, 40000, 65535, 65535, 0, 65535, 0]),
    ("INT16", [-32768, -200, 0, 0, 0, 2, 2, 41, 128, 310, 32767, 32767, 32767, 0, 32767, -32768]),
])
def test_integer_types_round_then_clamp_and_nan_becomes_zero(sample_type: str, expected: list[int]) -> None:
    got = convert_values(RAW, sample_type)
    assert got.dtype == np.dtype(sample_type.lower())
    np.testing.assert_array_equal(got, expected)


def test_auto_scales_by_255_then_rounds_and_clamps() -> None:
    got = convert_values(np.array([-0.2, 0.0, 0.5, 1 / 255 * 2.5, 0.9999, 1.0, 3.0, np.nan]), "AUTO")
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, [0, 0, 128, 2, 255, 255, 255, 0])   # 127.5 -> 128 (even), 2.5 -> 2


def test_float32_is_a_cast_and_keeps_nan() -> None:
    got = convert_values(np.array([0.1, -3e38, 1e39, np.nan]), "FLOAT32")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got[:3], np.array([0.1, -3e38, np.inf], np.float32))
    assert np.isnan(got[3])


def test_convert_values_leaves_its_input_alone() -> None:
    raw = np.array([0.25, 0.75])
    convert_values(raw, "AUTO")
    np.testing.assert_array_equal(raw, [0.25, 0.75])


NULLISH = """//VERSION=3
function setup() {
  return { input: ["B04"], output: [{ id: "f", bands: 4, sampleType: "FLOAT32" },
                                    { id: "u", bands: 4, sampleType: "UINT8" },
                                    { id: "a", bands: 4 }] };
}
function evaluatePixel(s) {
  const values = [null, undefined, NaN, true];
  return { f: values, u: values, a: [s.B04 * s.unrequested, null, 0.5, false] };
}
"""


def test_js_nullish_values_end_to_end() -> None:
    out = Evalscript.parse(NULLISH).run({"B04": np.array([0.3, 0.6], np.float32)}).outputs
    assert np.isnan(out["f"][:3]).all()
    np.testing.assert_array_equal(out["f"][3], [1, 1])                  # booleans count as 0/1
    np.testing.assert_array_equal(out["u"], [[0, 0], [0, 0], [0, 0], [1, 1]])
    np.testing.assert_array_equal(out["a"], [[0, 0], [0, 0], [128, 128], [0, 0]])   # undefined * x = NaN -> 0


def test_input_dtypes_reach_the_script_exactly() -> None:
    source = """//VERSION=3
function setup() { return { input: ["A", "B", "C", "D"], output: { bands: 4, sampleType: "FLOAT32" } }; }
function evaluatePixel(s) { return [s.A, s.B, s.C, s.D]; }
"""
    samples = {"A": np.array([65535, 3], np.uint16), "B": np.array([-5, 7], np.int64),
               "C": np.array([0.1, 2.5], np.float64), "D": np.array([True, False])}
    out = Evalscript.parse(source).run(samples).outputs["default"]
    np.testing.assert_array_equal(out, np.array([[65535, 3], [-5, 7], [0.1, 2.5], [1, 0]], np.float32))
