"""The curl walkthrough of docs/api.md runs as printed against the real stack (only `API=` is changed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SECTION = "## The whole lifecycle with curl (v1)"


def lifecycle_script() -> str:
    """The first bash block after the v1 lifecycle heading."""
    text = DOC.read_text()
    after = text[text.index(SECTION) :]
    return re.search(r"```bash\n(.*?)```", after, re.S).group(1)


def test_v1_lifecycle_curl_examples_work_as_printed(processing_stack, tmp_path: Path) -> None:
    script = lifecycle_script()
    api_url = processing_stack.describe()["urls"]["api"]
    script = script.replace("API=http://127.0.0.1:8000", f"API={api_url}", 1)
    env = {
        **os.environ,
        "EVALBATCH_HOME": str(processing_stack.home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert '"name": "UTM 20km grid"' in out  # tiling grids, id 0 included
    assert '"tileCount": 8' in out  # create answers with the tile count of the demo AOI on grid 1
    assert out.count("204") >= 2  # analyse and start
    assert "Only requests with status PARTIAL can be restarted." in out
    assert "COMMON_EXCEPTION" not in out and '"status":5' not in out.replace(" ", "")  # no server error anywhere
    request = (tmp_path / "request.json").read_text()
    assert '"status":"CREATED"' in request.replace(" ", "")
