"""The helper library (evaluator/helpers.js) against values computed by hand from spec §8.

Where the spec and the corpus README disagree the README wins: ColorRampVisualizer truncates each
interpolated 0..255 component (k = floor(c)), so documented examples that were rounded (e.g. 110/255
for createRedTemperature(0, 1).process(0.3), where c = 174 * 0.3 / 0.475 = 109.89) come out 1 lower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

JS = Callable[[str], Any]


def test_index_and_inverse(js: JS) -> None:
    assert js("index(0.6, 0.4)") == pytest.approx(0.2)
    assert js("index(0.5, -0.5)") == 0          # x + y == 0 -> 0, not NaN or Infinity
    assert js("index(0, 0)") == 0
    assert js("index(3, 1)") == 0.5
    assert js("inverse(4)") == 0.25
    assert js("inverse(0)") == 1.7976931348623157e308
    assert js("JAVA_DOUBLE_MAX_VAL") == 1.7976931348623157e308


def test_color_blend_interpolates_and_clamps(js: JS) -> None:
    limits, colors = "[0, 1, 3]", "[[0, 0, 0], [1, 0.5, 0], [0, 0, 1]]"
    assert js(f"colorBlend(0.5, {limits}, {colors})") == [0.5, 0.25, 0]
    assert js(f"colorBlend(2, {limits}, {colors})") == [0.5, 0.25, 0.5]   # t = (2 - 1) / (3 - 1)
    assert js(f"colorBlend(-5, {limits}, {colors})") == [0, 0, 0]
    assert js(f"colorBlend(7, {limits}, {colors})") == [0, 0, 1]
    assert js("valueInterpolate(0.25, [0, 1], [10, 20])") == 12.5
    assert js("valueInterpolate(0.25, undefined, [10, 20])") == 0.25   # no limits: value unchanged
    assert js("colorBlend(NaN, [0, 1], [[0, 0], [1, 1]]).every(Number.isNaN)") is True


def test_color_blend_returns_a_fresh_array(js: JS) -> None:
    expression = """(() => {
      const colors = [[0, 0, 0], [1, 1, 1]];
      const low = colorBlend(-1, [0, 1], colors);
      low.push(1); low[0] = 9;
      const high = colorBlend(2, [0, 1], colors);
      high[1] = 7;
      return {colors, low, again: colorBlend(-1, [0, 1], colors)};
    })()"""
    assert js(expression) == {"colors": [[0, 0, 0], [1, 1, 1]], "low": [9, 0, 0, 1], "again": [0, 0, 0]}


def test_value_map_documented_examples(js: JS) -> None:
    intervals, values = "[1, 3, 5, 7, 10]", "[100, 300, 500, 700, 900]"
    assert [js(f"valueMap({v}, {intervals}, {values})") for v in (5, 1, 2, 12, 0)] == [500, 100, 300, 900, 100]
    assert js("valueMap(50)") == 50


def test_combine_and_colour_conversions(js: JS) -> None:
    assert js("combine([100, 0, 0], [0, 100, 0], 0.5)") == [50, 50, 0]
    assert js("combine(10, 20, 0.25)") == 17.5
    assert js("[int2rgb(255), int2rgb(256), int2rgb(65537), int2rgb(0x336699)]") == [
        [0, 0, 255], [0, 1, 0], [1, 0, 1], [0x33, 0x66, 0x99]]
    assert js("rgb2int([0x33, 0x66, 0x99])") == 0x336699
    assert js("[hex2rgb(0xff0000), rgb2hex([0, 0, 255])]") == [[255, 0, 0], 255]
    assert js("(() => { const c = [255, 51, 0]; const n = normalizeRGB(c); return [c, n]; })()") == [
        [255, 51, 0], [1, 0.2, 0]]


def test_color_map_visualizer(js: JS) -> None:
    viz = "new ColorMapVisualizer([[200, 0xff0000], [300, 0x0000ff]])"
    assert [js(f"{viz}.process({v})") for v in (199, 200, 250, 299)] == [[1, 0, 0]] * 4
    assert js(f"{viz}.process(300)") == [0, 0, 1]
    assert js(f"{viz}.getColorFromValue(250)") == 0xff0000
    default = "ColorMapVisualizer.createDefaultColorMap()"
    assert js(f"{default}.process(0.45)") == [0.2, 1, 1]          # 0x33ffff
    assert js(f"{default}.process(-3)") == [0, 0, 0]              # below all: first colour
    assert js(f"{default}.getColorFromValue(0.95)") == 0x006600


def test_color_ramp_visualizer_truncates_to_k_over_255(js: JS) -> None:
    viz = "new ColorRampVisualizer([[200, 0xff0000], [300, 0x0000ff]])"
    # 250: c = 255 * 0.5 = 127.5 -> 127; 299: r = 255 * 0.01 = 2.55 -> 2, b = 252.45 -> 252
    assert js(f"{viz}.process(250).map(c => c * 255)") == [127, 0, 127]
    assert js(f"{viz}.process(299).map(c => c * 255)") == [2, 0, 252]
    assert js(f"{viz}.process(100)") == [1, 0, 0]
    assert js(f"{viz}.process(400)") == [0, 0, 1]
    # colours as normalized arrays, and min/max moving the first stop to 200 and the last to 300
    rescaled = "new ColorRampVisualizer([[0, [1, 0, 0]], [1, [0, 0, 1]]], 200, 300)"
    assert js(f"{rescaled}.process(250).map(c => c * 255)") == [127, 0, 127]
    assert js(f"{viz}.inverse().process(200)") == [0, 0, 1]
    assert js(f"{viz}.inverse().process(300)") == [1, 0, 0]


def test_color_ramp_sorts_unsorted_stops(js: JS) -> None:
    # kndvi-style ramp with -0.2 listed after 0: interpolation runs over the stops sorted by value
    viz = "new ColorRampVisualizer([[0, 0x000000], [1, 0xffffff], [-0.2, 0xff0000]])"
    assert js(f"{viz}.process(-0.1).map(c => c * 255)") == [127, 0, 0]
    assert js(f"{viz}.process(-1)") == [1, 0, 0]


@pytest.mark.parametrize(("factory", "value", "expected"), [
    # value = 1 - palette position; c interpolated on 0..255 then truncated
    ("createRedTemperature", 0, [0, 0, 0]),
    ("createRedTemperature", 0.3, [109, 0, 0]),       # 174 * 0.3 / 0.475 = 109.89 (docs, rounded: 110)
    ("createRedTemperature", 0.5, [183, 12, 0]),      # 174 + 81 * 0.025 / 0.225 = 183, 110 / 9 = 12.2
    ("createRedTemperature", 0.8, [255, 158, 51]),
    ("createRedTemperature", 1, [255, 255, 255]),
    ("createBlueRed", 0, [0, 0, 128]),
    ("createBlueRed", 0.3, [0, 178, 255]),            # 255 * 0.7 = 178.5 (docs, rounded: 179)
    ("createBlueRed", 0.5, [127, 255, 127]),          # midway 0xffff00 / 0x00ffff (docs, rounded: 128)
    ("createBlueRed", 0.8, [255, 76, 0]),
    ("createBlueRed", 1, [128, 0, 0]),
    ("createWhiteGreen", 0.3, [0, 76, 0]),
    ("createWhiteGreen", 0.5, [42, 127, 0]),          # 128 / 3 = 42.7, 102 + 77 / 3 = 127.7 (docs: 43, 128)
    ("createWhiteGreen", 0.8, [170, 204, 85]),
])
def test_color_ramp_factories(js: JS, factory: str, value: float, expected: list[int]) -> None:
    assert js(f"ColorRampVisualizer.{factory}(0, 1).process({value}).map(c => Math.round(c * 255))") == expected


def test_ocean_color_factory_ascends(js: JS) -> None:
    assert js("ColorRampVisualizer.createOceanColor(0, 10).process(0).map(c => Math.round(c * 255))") == [147, 0, 108]
    assert js("ColorRampVisualizer.createOceanColor(0, 10).process(10).map(c => Math.round(c * 255))") == [105, 0, 0]


def test_color_gradient_visualizer(js: JS) -> None:
    viz = "new ColorGradientVisualizer([[0, 0x000000], [1, 0xffffff]], 0, 10)"
    assert js(f"{viz}.process(5)") == [0.5, 0.5, 0.5]
    assert js(f"{viz}.process(-1)") == [0, 0, 0]
    assert js(f"{viz}.process(11)") == [1, 1, 1]


def test_highlight_compress_visualizer_documented_examples(js: JS) -> None:
    values = [0, 0.1, 0.25, 0.376, 0.4, 0.7, 1.1]
    got = js(f"[{', '.join(map(str, values))}].map(v => new HighlightCompressVisualizer(0.1, 0.4).process(v))")
    assert got == pytest.approx([0, 0, 0.5, 0.92, 0.92 + 0.08 * 0.08 / 1.08, 1, 1])
    assert js("new HighlightCompressVisualizer().process(0.3)") == pytest.approx(0.3)   # defaults 0, 1, 1, 0, 1
    assert js("new HighlightCompressVisualizer(0, 1, 1, 0, 2).process(0.5)") == pytest.approx(0.25)
    # no highlight compression when max >= 1: 2 * 0.5 / 2 + 0.1
    assert js("new HighlightCompressVisualizer(0, 2, 2, 0.1).process(0.5)") == pytest.approx(0.6)
    assert js("new HighlightCompressVisualizer(0.1, 0.4).processList([0.1, 0.25])") == pytest.approx([0, 0.5])
    assert js("new HighlightCompressVisualizerSingle(0.1, 0.4).process(0.25)") == pytest.approx([0.5])


def test_legacy_visualizers(js: JS) -> None:
    assert js("new DefaultVisualizer(0, 2).process(1)") == [0.5]
    assert js("new DefaultVisualizer(0, 1, 1, 0, 0.5).process(0.25)") == [0.5]
    assert js("new DefaultVisualizer(0, 1).process(3)") == [1]
    assert js("new Identity().process(3)") == [3]
    assert js("new Identity().process([1, 2])") == [1, 2]


def test_constants(js: JS) -> None:
    assert js("[SampleType.INT8, SampleType.UINT8, SampleType.INT16, SampleType.UINT16, SampleType.FLOAT32, "
              "SampleType.AUTO]") == ["INT8", "UINT8", "INT16", "UINT16", "FLOAT32", "AUTO"]
    assert js("[Mosaicking.SIMPLE, Mosaicking.ORBIT, Mosaicking.TILE]") == ["SIMPLE", "ORBIT", "TILE"]
    assert js("[blueRed.length, redTemperature.length, greenWhite.length, oceanColor.length]") == [6, 5, 4, 21]


def test_decode_l8_c2_qa_documented_example(js: JS) -> None:
    assert js("decodeL8C2Qa(55052)") == {
        "fill": 0, "dilatedCloud": 0, "cirrus": 1, "cloud": 1, "cloudShadow": 0, "snow": 0, "clear": 0,
        "water": 0, "cloudConfidence": 3, "cloudShadowConfidence": 1, "snowIceConfidence": 1,
        "cirrusConfidence": 3}


def test_decode_s3_olci_quality_flags(js: JS) -> None:
    land = js("decodeS3OLCIQualityFlags(2 ** 31)")
    assert land["land"] == 1
    assert sum(land.values()) == 1
    assert len(land) == 11 + 21
    assert js("decodeS3OLCIQualityFlags(2 ** 21).dubious") == 1
    assert js("decodeS3OLCIQualityFlags(2 ** 20).saturatedB01") == 1
    assert js("decodeS3OLCIQualityFlags(1).saturatedB21") == 1


def test_user_script_may_redeclare_helper_names() -> None:
    import numpy as np

    from evaluator import Evalscript

    source = """//VERSION=3
const blueRed = 5;
function index(x, y) { return x * y; }
function setup() { return { input: ["B04"], output: { bands: 2, sampleType: "FLOAT32" } }; }
function evaluatePixel(s) { return [index(s.B04, 2), blueRed]; }
"""
    out = Evalscript.parse(source).run({"B04": np.array([1.5, 2.0], np.float32)}).outputs["default"]
    np.testing.assert_array_equal(out, np.array([[3.0, 4.0], [5.0, 5.0]], np.float32))
