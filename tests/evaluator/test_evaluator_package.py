"""Package boundaries: the evaluator stands alone."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT

OTHER_PACKAGES = ("grids", "tiler", "evalbatch", "api", "workers", "ops")


def test_evaluator_imports_no_other_evalbatch_package() -> None:
    code = ("import sys, evaluator; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({OTHER_PACKAGES!r})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
