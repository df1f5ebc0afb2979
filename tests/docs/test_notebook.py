"""docs/examples/monitoring.ipynb runs top to bottom (nbclient, a real kernel) against the local stack with the
API and rq workers, creating a tiny request over the test archive and plotting it."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import redis
from nbclient import NotebookClient
from support.batch_requests import (
    AOI_BBOX,
    TIME_FROM,
    TIME_TO,
    all_tiles,
)

from evalbatch import accounts
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store
from ops.services import LocalStack

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO_ROOT / "docs" / "examples" / "monitoring.ipynb"
CELL_TIMEOUT_S = 300




def outputs_of(notebook: nbformat.NotebookNode, kind: str) -> list[str]:
    """The text (kind 'stream') or the PNGs (kind 'image/png') the executed cells produced."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if kind == "stream" and output.get("output_type") == "stream":
                found.append(output["text"])
            elif kind in output.get("data", {}):
                found.append(output["data"][kind])
    return found


def test_monitoring_notebook_runs_a_request_and_plots_it(
    processing_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = processing_stack.settings
    client = redis.Redis.from_url(settings.redis_url)
    credentials = accounts.create_client(client, name="notebook")
    environment = {
        "EVALBATCH_PUBLIC_URL": processing_stack.describe()["urls"]["api"],
        "EVALBATCH_CLIENT_ID": credentials["client_id"],
        "EVALBATCH_CLIENT_SECRET": credentials["client_secret"],
        "EVALBATCH_EXAMPLE_BBOX": ",".join(str(v) for v in AOI_BBOX),
        "EVALBATCH_EXAMPLE_TIME_FROM": TIME_FROM,
        "EVALBATCH_EXAMPLE_TIME_TO": TIME_TO,
        "EVALBATCH_STAC_URL": settings.stac_url,
        "PYTHONPATH": str(REPO_ROOT),
        "MPLBACKEND": "Agg",
    }
    monkeypatch.delenv("EVALBATCH_REQUEST_ID", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO_ROOT)}}).execute()

    text = "".join(outputs_of(notebook, "stream"))
    final = re.search(r"request (\S+): (\w+), processed (\d+) of (\d+) tiles", text)
    assert final, text
    request_id, status, processed, tile_count = final.groups()
    store = Store(client)
    assert store.get_request(request_id)["status"] == status == RequestStatus.DONE
    tiles = all_tiles(store, request_id)
    assert int(tile_count) == len(tiles) == int(processed) > 0
    assert all(t["status"] == TileStatus.PROCESSED for t in tiles)
    assert len(outputs_of(notebook, "image/png")) == 2  # the tile map and the progress plot
    for tile in tiles:  # the STAC cell listed each tile's item with its output
        assert f"{tile['name']} {{'default': '{tile['outputs']['default']}'}}" in text
    client.close()
