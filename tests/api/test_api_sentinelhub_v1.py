"""The real v1 client (`sentinelhub` 3.11.1, the last release with `SentinelHubBatch`), in its own venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from api_support import LiveServer

from evalbatch import accounts
from evalbatch.states import RESTART_PARTIAL_MESSAGE

V1_CLIENT_VERSION = "3.11.1"
REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".evalbatch" / "test-venvs" / f"sentinelhub-{V1_CLIENT_VERSION}"
SCRIPT = Path(__file__).with_name("sentinelhub_v1_client.py")


@pytest.fixture(scope="session")
def v1_python() -> Path:
    """Python of a cached venv with sentinelhub 3.11.1; its other dependencies come from the project venv
    (a .pth file), which the 3.12 client shares with it."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--clear", str(VENV)], check=True)
        install = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
             f"sentinelhub=={V1_CLIENT_VERSION}"],
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            pytest.skip(f"cannot install sentinelhub {V1_CLIENT_VERSION}: {install.stderr[-500:]}")
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        project_site = subprocess.run(
            [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        (Path(site) / "evalbatch_project_venv.pth").write_text(project_site + "\n")
        marker.write_text(V1_CLIENT_VERSION)
    version = subprocess.run(
        [str(python), "-c", "import sentinelhub; print(sentinelhub.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert version == V1_CLIENT_VERSION
    return python


def run_v1_client(python: Path, base_url: str, client: dict[str, str], scenario: str, *args: str) -> dict:
    """Run one scenario of sentinelhub_v1_client.py and return its JSON output."""
    env = {**os.environ, "OAUTHLIB_INSECURE_TRANSPORT": "1"}
    completed = subprocess.run(
        [str(python), str(SCRIPT), base_url, client["client_id"], client["client_secret"], scenario, *args],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_v1_client_lifecycle_without_workers(v1_python: Path, live_server: LiveServer, redis_conn: redis.Redis) -> None:
    result = run_v1_client(v1_python, live_server.url, accounts.create_client(redis_conn, "v1"), "lifecycle")
    assert result["grid_ids"] == [0, 1, 2, 3, 6, 7]
    assert result["grid0"] == "UTM 20km grid"
    created = result["created"]
    assert created["status"] == "CREATED" and created["user_action"] == "NONE"
    assert created["tile_count"] == 1 and created["second_tile_count"] == 4
    assert created["bbox"] == [12.2, 41.2, 12.4, 41.4]
    assert created["tiling_grid"] == {"id": 3, "resolution": 0.0002, "bufferX": 2, "bufferY": 2}
    assert result["latest"] is True and result["listed"] is True
    assert result["renamed"] == "renamed"
    assert result["tiles_before_analysis"] == []
    assert RESTART_PARTIAL_MESSAGE in result["restart_error"]
    assert result["after_analyse"] == "ANALYSING"
    assert result["after_cancel"] == ["CANCELED", "CANCEL"]
    assert "404" in result["get_deleted_error"]
    assert result["remaining"] == []
