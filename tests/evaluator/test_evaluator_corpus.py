"""The shared conformance corpus (../shared/evalscripts): every case, compared with its numpy reference."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import CORPUS_DIR, load_corpus_module, scenes_from_iso

from evaluator import Evalscript, EvalscriptError

_MODULE = load_corpus_module()
_ABSENT = pytest.param("corpus-absent", marks=pytest.mark.skip(
    reason=f"evalscript corpus not found at {CORPUS_DIR.resolve()} (expected ../shared/evalscripts)"))
CASES = [p.name for p in _MODULE.case_dirs(CORPUS_DIR)] if _MODULE is not None else [_ABSENT]
# Cases that produce outputs (not the expect_error ones).
_RESULT_CASES = [name for name in CASES
                 if _MODULE is None or _MODULE.load_case(CORPUS_DIR / name)["expect_error"] is None]


def _case(corpus: ModuleType, name: str) -> tuple[dict, Path]:
    case_dir = CORPUS_DIR / name
    return corpus.load_case(case_dir), case_dir


@pytest.mark.parametrize("name", CASES)
def test_corpus_case(corpus: ModuleType, name: str) -> None:
    case, case_dir = _case(corpus, name)
    inputs, dates = corpus.make_inputs(case, name)
    scenes = scenes_from_iso(dates) if case["mosaicking"] != "SIMPLE" else None
    source = (case_dir / "script.js").read_text(encoding="utf-8")
    if case["expect_error"] is not None:
        with pytest.raises(EvalscriptError) as raised:
            Evalscript.parse(source).run(inputs, scenes=scenes)
        assert case["expect_error"].lower() in str(raised.value).lower()
        return
    script = Evalscript.parse(source)
    assert script.mosaicking == case["mosaicking"]
    assert set(script.bands) == set(case["bands"])
    result = script.run(inputs, scenes=scenes)
    expected = corpus.load_reference(case_dir)(inputs, dates)
    assert corpus.compare_outputs(case, expected, result.outputs, result.userdata) == []


@pytest.mark.parametrize("name", _RESULT_CASES)
def test_corpus_case_in_three_batches_equals_one(corpus: ModuleType, name: str) -> None:
    """Running a tile as three strips through one session gives the same arrays as one batch."""
    case, case_dir = _case(corpus, name)
    inputs, dates = corpus.make_inputs(case, name, shape=(30, 32))
    scenes = scenes_from_iso(dates) if case["mosaicking"] != "SIMPLE" else []
    script = Evalscript.parse((case_dir / "script.js").read_text(encoding="utf-8"))
    whole = script.run(inputs, scenes=scenes)
    temporal = case["mosaicking"] != "SIMPLE"
    with script.session() as run:
        kept = run.select_scenes(scenes)
        kept_scenes = run.pick(scenes, kept)
        run.update_output(kept_scenes)
        selected = run.pick_samples(inputs, kept)
        parts = []
        for rows in (slice(0, 7), slice(7, 20), slice(20, 30)):
            strip = {band: (values[:, rows] if temporal else values[rows]) for band, values in selected.items()}
            parts.append(run.evaluate(strip, scenes=kept_scenes))
        userdata = run.finish()
    for out_id, expected in whole.outputs.items():
        joined = np.concatenate([part[out_id] for part in parts], axis=1)
        np.testing.assert_array_equal(joined, expected)
    assert userdata == whole.userdata
