"""Legacy forms (spec §9): V1 simple scripts, V1/V2 setup(ds), and a V3 header on a V1 body."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import daily_scenes

from evaluator import Evalscript, EvalscriptRuntimeError

RNG = np.random.default_rng(7)
BANDS = {band: RNG.uniform(0, 0.6, 50).astype(np.float32) for band in ("B02", "B03", "B04", "B08")}


def auto(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def test_v1_simple_script_with_colorblend() -> None:
    source = ("var ndvi = (B08 - B04) / (B08 + B04);\n"
              "return colorBlend(ndvi, [0, 1], [[0, 0, 0], [1, 0.5, 0]]);\n")
    script = Evalscript.parse(source)
    assert (script.version, script.mosaicking) == (1, "SIMPLE")
    assert script.bands == ["B04", "B08"]
    assert script.inputs[0].units == {"B04": "REFLECTANCE", "B08": "REFLECTANCE"}
    [output] = script.outputs
    assert (output.id, output.bands, output.sample_type) == ("default", 3, "AUTO")
    got = script.run(BANDS).outputs["default"]
    b4, b8 = BANDS["B04"].astype(np.float64), BANDS["B08"].astype(np.float64)
    t = np.clip((b8 - b4) / (b8 + b4), 0, 1)
    np.testing.assert_array_equal(got, auto(np.stack([t, 0.5 * t, 0 * t])))


def test_v3_header_on_a_v1_body_runs_as_v1_with_a_warning() -> None:
    script = Evalscript.parse("//VERSION=3\nreturn [2.5 * B04, 2.5 * B03, 2.5 * B02];\n")
    assert script.version == 1
    assert any("V1" in warning for warning in script.warnings)
    assert script.bands == ["B02", "B03", "B04"]
    got = script.run(BANDS).outputs["default"]
    expected = auto(2.5 * np.stack([BANDS[b].astype(np.float64) for b in ("B04", "B03", "B02")]))
    np.testing.assert_array_equal(got, expected)


def test_v1_body_sees_every_collection_band_as_a_parameter() -> None:
    # B05 is a parameter the body only reaches through eval (so it is not requested: undefined);
    # B18 is no parameter at all. Both must be "undefined" without a ReferenceError.
    script = Evalscript.parse('return [eval("typeof B0" + "5") === "undefined" ? 1 : 0, '
                              'typeof B18 === "undefined" ? 1 : 0, B04];')
    assert script.bands == ["B04"]
    got = script.run({"B04": np.array([0.5], np.float32)}).outputs["default"]
    np.testing.assert_array_equal(got[:, 0], [255, 255, 128])


def test_v1_errors_report_the_users_line_and_column() -> None:
    script = Evalscript.parse("var x = 1;\nreturn [B04.foo.bar];\n")
    with pytest.raises(EvalscriptRuntimeError) as raised:
        script.run(BANDS)
    assert (raised.value.js_name, raised.value.line, raised.value.column) == ("TypeError", 2, 17)
    script = Evalscript.parse("return [missing + B04];")
    with pytest.raises(EvalscriptRuntimeError) as raised:
        script.run(BANDS)
    assert "ReferenceError" in str(raised.value)
    assert (raised.value.line, raised.value.column) == (1, 9)


V2_SCRIPT = """//VERSION=2
function setup(ds) {
  return {
    components: [ds.B04, ds.B08],
    output: [{ id: "default", sampleType: "UINT16", componentCount: 2 }],
    normalization: false
  };
}
function filterScenes(scenes, inputMetadata) {
  return scenes.filter((scene) => scene.date.getTime() !== inputMetadata.to.getTime() - 6 * 86400000);
}
function evaluatePixel(samples, scenes) {
  return [samples[0].B08 - samples[0].B04, samples.length];
}
"""


def test_v2_setup_returning_components_with_filter_scenes() -> None:
    script = Evalscript.parse(V2_SCRIPT)
    assert (script.version, script.mosaicking) == (2, "TILE")
    assert script.inputs[0].units == {"B04": "DN", "B08": "DN"}   # normalization: false
    [output] = script.outputs
    assert (output.bands, output.sample_type) == (2, "UINT16")
    scenes = daily_scenes(3)
    dn = {band: np.stack([(BANDS[band] * 10000).astype(np.uint16) + 100 * t for t in range(3)])
          for band in ("B04", "B08")}
    result = script.run(dn, scenes=scenes, time_to=scenes[0].date)
    assert result.kept == [0, 2]                                   # the scene 6 days before `to` is dropped
    got = result.outputs["default"]
    diff = dn["B08"][0].astype(np.int64) - dn["B04"][0].astype(np.int64)
    np.testing.assert_array_equal(got[0], np.clip(diff, 0, 65535))
    np.testing.assert_array_equal(got[1], 2)


def test_v1_setup_calling_set_input_components() -> None:
    source = """function setup(ds) {
  setInputComponents([ds.B02, ds.B03]);
  setOutputComponentCount(2);
}
function evaluatePixel(samples) { return [samples[0].B02 * 2, samples[0].B03]; }
"""
    script = Evalscript.parse(source)
    assert (script.version, script.mosaicking, script.bands) == (1, "TILE", ["B02", "B03"])
    scene = daily_scenes(1)
    got = script.run({b: BANDS[b][None] for b in ("B02", "B03")}, scenes=scene).outputs["default"]
    np.testing.assert_array_equal(got, auto(np.stack([2 * BANDS["B02"].astype(np.float64),
                                                      BANDS["B03"].astype(np.float64)])))


def test_headerless_v3_shaped_script_runs_as_v3() -> None:
    source = """function setup() { return { input: ["B04"], output: { bands: 1, sampleType: "FLOAT32" } }; }
function evaluatePixel(s) { return [s.B04 * 2]; }"""
    script = Evalscript.parse(source)
    assert script.version == 3 and script.warnings
    np.testing.assert_array_equal(script.run({"B04": BANDS["B04"]}).outputs["default"][0], BANDS["B04"] * 2)


def test_v1_parameters_can_be_another_collections_bands() -> None:
    script = Evalscript.parse("return [VV * 2];", legacy_bands=("VV", "VH"))
    assert script.bands == ["VV"]
    got = script.run({"VV": np.array([0.1, 0.3], np.float32)}).outputs["default"]
    np.testing.assert_array_equal(got, [[51, 153]])
