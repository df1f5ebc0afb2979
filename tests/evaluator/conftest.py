"""Fixtures of the evaluator tests: the shared conformance corpus and a helper-expression runner."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Run as `.venv/bin/pytest`, only tests/ is on sys.path and tests/evaluator/ (no __init__.py) would be
# imported as a namespace package named `evaluator`: put the repository first.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
    sys.modules.pop("evaluator", None)

from evaluator import Evalscript, Scene  # noqa: E402

CORPUS_DIR = REPO_ROOT / ".." / "shared" / "evalscripts"
FIRST_DATE = datetime(2023, 9, 10, 10, 20, 31, tzinfo=UTC)


def load_corpus_module() -> ModuleType | None:
    """check_reference.py of the shared corpus, imported by path; None when the corpus is absent."""
    path = CORPUS_DIR / "check_reference.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("evalscript_check_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def corpus() -> ModuleType:
    """The corpus harness module (load_case, make_inputs, load_reference, compare_outputs)."""
    module = load_corpus_module()
    if module is None:
        pytest.skip(f"evalscript corpus not found at {CORPUS_DIR.resolve()}")
    return module


def scenes_from_iso(dates: list[str]) -> list[Scene]:
    """Scene objects for ISO dates such as the corpus harness produces."""
    return [Scene(date=datetime.fromisoformat(d.replace("Z", "+00:00")), id=f"scene-{i}",
                  cloud_coverage=10.0 * i, tile_id=f"T33TVM-{i}", orbit_id=f"R{i:03d}",
                  data_path=f"s3://bucket/tiles/{i}")
            for i, d in enumerate(dates)]


def daily_scenes(count: int, step_days: int = 6) -> list[Scene]:
    """``count`` scenes, most recent first, ``step_days`` apart."""
    return scenes_from_iso([(FIRST_DATE - timedelta(days=step_days * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
                            for i in range(count)])


JS_PROBE = """//VERSION=3
function setup() {{ return {{ input: ["B04"], output: {{ bands: 0 }} }}; }}
function evaluatePixel() {{}}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {{
  outputMetadata.userData = {{ value: ({expression}) }};
}}
"""


@pytest.fixture(scope="session")
def js() -> Callable[[str], Any]:
    """Evaluate a JS expression in a fresh evalscript context (helpers loaded); returns it via JSON."""
    def evaluate(expression: str) -> Any:
        script = Evalscript.parse(JS_PROBE.format(expression=expression))
        userdata = script.run({"B04": np.zeros(1, np.float32)}).userdata
        assert userdata is not None
        return json.loads(json.dumps(userdata))["value"]
    return evaluate


def assert_identical(got: np.ndarray, want: np.ndarray) -> None:
    """Equal values (NaN where NaN) of one dtype, with the same sign on zeros (FLOAT32 keeps -0)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if got.dtype.kind == "f":
        numbers = ~np.isnan(want)
        assert np.array_equal(np.signbit(got[numbers]), np.signbit(want[numbers])), "signs of zeros differ"
