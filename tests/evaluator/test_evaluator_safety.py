"""Sandbox, time and memory limits: hostile or broken scripts fail cleanly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import REPO_ROOT

from evaluator import (
    Evalscript,
    EvalscriptError,
    EvalscriptMemoryError,
    EvalscriptOutputError,
    EvalscriptRuntimeError,
    EvalscriptSyntaxError,
    EvalscriptTimeout,
)

SAMPLES = {"B04": np.linspace(0, 0.5, 20, dtype=np.float32)}


def script_with(body: str, extra: str = "") -> Evalscript:
    return Evalscript.parse(f"""//VERSION=3
function setup() {{ return {{ input: ["B04"], output: {{ bands: 1, sampleType: "FLOAT32" }} }}; }}
function evaluatePixel(s) {{ {body} }}
{extra}""")


@pytest.mark.parametrize("expression", ["require('fs')", "process.env", "fetch('http://127.0.0.1/')",
                                        "new XMLHttpRequest()", "atob('YQ==')"])
def test_host_apis_are_absent(expression: str) -> None:
    with pytest.raises(EvalscriptRuntimeError, match=r"ReferenceError: .* is not defined"):
        script_with(f"{expression}; return [1];").run(SAMPLES)


def test_dynamic_import_cannot_load_anything() -> None:
    extra = """let status = "pending";
function updateOutputMetadata(a, b, meta) { meta.userData = { status }; }"""
    body = """if (status === "pending") {
    status = "called";
    import("fs").then(() => { status = "loaded"; }, (e) => { status = "rejected: " + e.message; });
  }
  return [1];"""
    result = script_with(body, extra).run(SAMPLES)
    assert result.userdata == {"status": "rejected: Not supported"}
    with pytest.raises(EvalscriptOutputError, match="not a number"):
        script_with('return [import("fs")];').run(SAMPLES)
    with pytest.raises(EvalscriptSyntaxError):
        Evalscript.parse('//VERSION=3\nimport fs from "fs";\n')


def test_infinite_loop_in_evaluate_pixel_times_out_and_discards_the_context() -> None:
    script = script_with("while (true) {}")
    with script.session(timeout_s=0.3) as run:
        started = time.monotonic()
        with pytest.raises(EvalscriptTimeout, match="timeout"):
            run.evaluate(SAMPLES)
        assert time.monotonic() - started < 10
        with pytest.raises(EvalscriptError, match="closed"):
            run.finish()


def test_infinite_loops_in_setup_and_top_level_time_out() -> None:
    with pytest.raises(EvalscriptTimeout, match="timeout"):
        Evalscript.parse("//VERSION=3\nfunction setup() { for (;;) {} }\nfunction evaluatePixel() {}",
                         timeout_s=0.3)
    with pytest.raises(EvalscriptTimeout, match="timeout"):
        Evalscript.parse("//VERSION=3\nwhile (1) {}\n", timeout_s=0.3)


def test_heap_limit_stops_a_hoarding_script() -> None:
    script = script_with("for (;;) hoard.push({ a: [s.B04, 1, 2, 3] });", "const hoard = [];")
    with script.session(timeout_s=30, max_heap_bytes=32 << 20) as run, pytest.raises(EvalscriptMemoryError,
                                                                                        match="memory"):
        run.evaluate(SAMPLES)


def test_script_cannot_replace_or_reach_the_runtime() -> None:
    extra = """const stolen = [];
__evalbatch = null;
delete globalThis.__evalbatch;
const typed = Object.getPrototypeOf(Float64Array.prototype);
for (const name of ["length", "buffer", "byteLength", "byteOffset"]) {
  const original = Object.getOwnPropertyDescriptor(typed, name).get;
  Object.defineProperty(typed, name, { get() { stolen.push(this); return original.call(this); } });
}
function updateOutputMetadata(a, b, meta) { meta.userData = { stolen: stolen.length }; }"""
    result = script_with("return [s.B04 * 2];", extra).run(SAMPLES)
    np.testing.assert_array_equal(result.outputs["default"][0], SAMPLES["B04"] * 2)
    assert result.userdata == {"stolen": 0}


def test_process_memory_limit_stops_typed_array_hoarding() -> None:
    """evaluator.limits caps typed arrays, which V8's heap limit does not count (run in a child process)."""
    child = textwrap.dedent("""
        import numpy as np
        from evaluator.limits import apply_memory_limit
        apply_memory_limit(2 << 30)
        from evaluator import Evalscript, EvalscriptRuntimeError
        script = Evalscript.parse('''//VERSION=3
        const hoard = [];
        function setup() { return { input: ["B04"], output: { bands: 1, sampleType: "FLOAT32" } }; }
        function evaluatePixel(s) { hoard.push(new Float64Array(1 << 27)); return [hoard.length]; }
        ''')
        try:
            script.run({"B04": np.zeros(64, np.float32)})
            print("NOT LIMITED")
        except EvalscriptRuntimeError as exc:
            print("LIMITED", exc)
    """)
    done = subprocess.run([sys.executable, "-c", child], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("LIMITED"), done.stdout + done.stderr
    assert "RangeError" in done.stdout
