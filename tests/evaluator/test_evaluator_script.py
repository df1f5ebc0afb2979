"""Parsing (header, setup forms, declarations), return forms and error reporting."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator import (
    Evalscript,
    EvalscriptError,
    EvalscriptOutputError,
    EvalscriptRuntimeError,
    EvalscriptSyntaxError,
    OutputSpec,
)

B04 = np.array([0.1, 0.25, 0.4], np.float32)
B08 = np.array([0.5, 0.25, 0.2], np.float32)


def v3(setup_body: str, evaluate_body: str, extra: str = "") -> str:
    return (f"//VERSION=3\nfunction setup() {{ return {setup_body}; }}\n"
            f"function evaluatePixel(sample) {{ {evaluate_body} }}\n{extra}")


@pytest.mark.parametrize("header", ["//VERSION=3", "// VERSION=3", "//VERSION = 3", "//version=3",
                                    "//VERSION=3 (auto-converted from 1)", "\n\n   //VERSION=3"])
def test_header_variants_are_v3(header: str) -> None:
    source = header + '\nconst setup = () => ({ input: ["B04"], output: { bands: 1 } });\n' \
        "var evaluatePixel = function (s) { return [s.B04]; };\n"
    assert Evalscript.parse(source).version == 3


def test_header_after_comment_block() -> None:
    source = ('/* a\n * comment\n */\n// VERSION=3\n'
              'function setup() { return { input: ["B04"], output: { bands: 1 } }; }\n'
              "function evaluatePixel(s) { return [s.B04]; }\n")
    assert Evalscript.parse(source).version == 3


def test_declaration_details() -> None:
    source = v3("""{
      input: [{ bands: ["B04", "B08"], units: "reflectance", orthorectify: "TRUE" },
              { bands: ["SCL", "dataMask"], units: ["DN", "dn"] }],
      output: [{ id: "rgb", bands: 3, sampleType: SampleType.UINT16, nodataValue: 0 },
               { id: "index", bands: 1, sampleType: "float32" },
               { id: "stats", bands: 0 }],
      mosaicking: Mosaicking.ORBIT
    }""", "return {};")
    script = Evalscript.parse(source)
    assert script.mosaicking == "ORBIT"
    assert script.bands == ["B04", "B08", "SCL", "dataMask"]
    assert [spec.units for spec in script.inputs] == [{"B04": "REFLECTANCE", "B08": "REFLECTANCE"},
                                                      {"SCL": "DN", "dataMask": "DN"}]
    assert script.outputs == [OutputSpec("rgb", 3, "UINT16", 0.0), OutputSpec("index", 1, "FLOAT32", None),
                              OutputSpec("stats", 0, "AUTO", None)]
    assert script.datasources == []


def test_default_units_and_dynamic_setup() -> None:
    source = v3("""(() => { const bands = ["B04"]; const type = "INT16";
                   return { input: bands.concat(["SCL", "sunZenithAngles", "dataMask"]),
                            output: { bands: 1, sampleType: type } }; })()""", "return [1];")
    script = Evalscript.parse(source)
    assert script.inputs[0].units == {"B04": "REFLECTANCE", "SCL": "DN", "sunZenithAngles": "DEGREES",
                                      "dataMask": "DN"}
    assert script.outputs[0].sample_type == "INT16"


@pytest.mark.parametrize(("setup_body", "message"), [
    ('{ input: ["B04"] }', "'input' and 'output'"),
    ('{ input: ["B04"], output: { bands: 1, sampleType: "UINT32" } }', "unknown sampleType"),
    ('{ input: ["B04"], output: { bands: -1 } }', "bands"),
    ('{ input: ["B04"], output: [{ bands: 1 }, { bands: 2 }] }', "duplicate output ids"),
    ('{ input: ["B04"], output: { bands: 1 }, mosaicking: "DAILY" }', "mosaicking"),
    ('{ input: [{ bands: "B04" }], output: { bands: 1 } }', "bands"),
])
def test_invalid_declarations_are_rejected(setup_body: str, message: str) -> None:
    with pytest.raises(EvalscriptRuntimeError, match=message):
        Evalscript.parse(v3(setup_body, "return [1];"))


def test_syntax_error_reports_name_line_and_column() -> None:
    source = "//VERSION=3\nfunction setup() {\n  return { input: [\"B04\"], output: { bands: 1 } };\n}\n" \
        "function evaluatePixel(s) {\n  return [s.B04 +];\n}\n"
    with pytest.raises(EvalscriptSyntaxError) as raised:
        Evalscript.parse(source)
    assert raised.value.js_name == "SyntaxError"
    assert (raised.value.line, raised.value.column) == (6, 18)
    assert "SyntaxError" in str(raised.value) and "line 6" in str(raised.value)


def test_typographic_quotes_fail_cleanly() -> None:
    with pytest.raises(EvalscriptSyntaxError, match="SyntaxError"):
        Evalscript.parse("//VERSION=3\nfunction setup() { return { input: [\u201cB04\u201d], output: { bands: 1 } }; }")


def test_runtime_error_in_evaluate_pixel_reports_line_column_and_pixel() -> None:
    source = v3('{ input: ["B04"], output: { bands: 1 } }',
                "if (sample.B04 > 0.3) { return [sample.missing.value]; }\n  return [1];")
    with pytest.raises(EvalscriptRuntimeError) as raised:
        Evalscript.parse(source).run({"B04": B04})
    error = raised.value
    assert (error.js_name, error.line, error.pixel) == ("TypeError", 3, 2)
    assert error.column == source.splitlines()[2].index("value") + 1
    assert "reading 'value'" in str(error) and "pixel 2" in str(error)


def test_errors_thrown_in_setup_and_top_level() -> None:
    with pytest.raises(EvalscriptRuntimeError, match="no bands for you"):
        Evalscript.parse("//VERSION=3\nfunction setup() { throw new Error('no bands for you'); }\n"
                         "function evaluatePixel() {}")
    with pytest.raises(EvalscriptRuntimeError, match="ReferenceError") as raised:
        Evalscript.parse("//VERSION=3\nconst a = 1;\nconst b = notDefined + 1;\n")
    assert raised.value.line == 3
    with pytest.raises(EvalscriptRuntimeError, match="evaluatePixel"):
        Evalscript.parse('//VERSION=3\nfunction setup() { return { input: ["B04"], output: { bands: 1 } }; }')


@pytest.mark.parametrize(("body", "expected"), [
    ("return index(sample.B08, sample.B04);", "bare number"),
    ("return [index(sample.B08, sample.B04)];", "array"),
    ("return { default: [index(sample.B08, sample.B04)] };", "object"),
    ("return new Float32Array([index(sample.B08, sample.B04)]);", "typed array"),
])
def test_return_forms_for_one_output(body: str, expected: str) -> None:
    script = Evalscript.parse(v3('{ input: ["B04", "B08"], output: { bands: 1, sampleType: "FLOAT32" } }', body))
    got = script.run({"B04": B04, "B08": B08}).outputs["default"]
    b4, b8 = B04.astype(np.float64), B08.astype(np.float64)
    np.testing.assert_allclose(got[0], ((b8 - b4) / (b8 + b4)).astype(np.float32), rtol=1e-6, err_msg=expected)


@pytest.mark.parametrize(("body", "message"), [
    ("return [1, 2];", "output 'default': evaluatePixel returned 2 values, expected 3 bands"),
    ("return [1, 2, 3, 4];", "returned 4 values, expected 3 bands"),
    ("return 5;", "returned 1 value, expected 3 bands"),
    ("return;", "returned no value, expected 3 bands"),
    ('return [1, "x", 3];', "band 1 is not a number"),
    ("return [1, {}, 3];", "band 1 is not a number"),
    ('return "abc";', "returned a string, expected an array of 3 numbers"),
    ("return { other: [1, 2, 3] };", "returned no value, expected 3 bands"),
])
def test_wrong_return_values_raise_output_errors(body: str, message: str) -> None:
    script = Evalscript.parse(v3('{ input: ["B04"], output: { bands: 3 } }', body))
    with pytest.raises(EvalscriptOutputError, match=message):
        script.run({"B04": B04})


def test_multi_output_object_return_and_zero_band_output() -> None:
    source = v3("""{ input: ["B04"], output: [{ id: "a", bands: 2, sampleType: "UINT8" },
                                           { id: "b", bands: 1, sampleType: "FLOAT32" },
                                           { id: "none", bands: 0 }] }""",
                "return { a: [sample.B04 * 1000, 7], b: sample.B04 };")
    out = Evalscript.parse(source).run({"B04": B04}).outputs
    np.testing.assert_array_equal(out["a"], [[100, 250, 255], [7, 7, 7]])
    np.testing.assert_array_equal(out["b"], [B04])
    assert out["none"].shape == (0, 3)


def test_bare_array_with_several_outputs_is_an_error() -> None:
    source = v3('{ input: ["B04"], output: [{ id: "a", bands: 1 }, { id: "b", bands: 1 }] }', "return [1];")
    with pytest.raises(EvalscriptOutputError, match="object keyed by output id"):
        Evalscript.parse(source).run({"B04": B04})


def test_two_dimensional_samples_keep_their_shape() -> None:
    script = Evalscript.parse(v3('{ input: ["B04"], output: { bands: 2, sampleType: "FLOAT32" } }',
                                 "return [sample.B04, 1];"))
    grid = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = script.run({"B04": grid}).outputs["default"]
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out[0], grid)


def test_missing_band_is_a_caller_error() -> None:
    script = Evalscript.parse(v3('{ input: ["B04", "B08"], output: { bands: 1 } }', "return [1];"))
    with pytest.raises(ValueError, match="B08"):
        script.run({"B04": B04})


def test_error_base_class() -> None:
    assert issubclass(EvalscriptSyntaxError, EvalscriptError)
    assert issubclass(EvalscriptOutputError, EvalscriptRuntimeError)
