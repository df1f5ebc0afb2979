"""The API load benchmark runs cleanly: 20 polling clients for 15 s against uvicorn, started as `evalbatch up`
starts it (EVALBATCH_API_PROCESSES server processes), get no error, and every answer is the request or the tile
page that was asked for.

Latency is measured and printed by bench/api_load.py, not asserted here (timings depend on the machine).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "api_load.py"
CLIENTS, DURATION_S, TILES = 20, 15, 2000


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_twenty_polling_clients_get_no_error() -> None:
    command = [sys.executable, str(SCRIPT), "--clients", str(CLIENTS), "--duration", str(DURATION_S),
               "--tiles", str(TILES), "--json"]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert finished.returncode == 0, finished.stderr[-3000:]
    print(finished.stdout)
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["clients"] == CLIENTS and result["tiles"] >= TILES * 0.9
    assert result["errors"] == 0, result["error_examples"]  # no 5xx, no transport error, no wrong answer
    by_endpoint = result["by_endpoint"]
    assert set(by_endpoint) == {"get request", "list tiles"}
    assert all(numbers["requests"] >= CLIENTS for numbers in by_endpoint.values())  # every client made progress
    assert result["tile_status_changes"] > 0  # the request was running while the clients polled
