"""`evalbatch requests ...` against the real API (uvicorn + Redis); the test plays the workers through the Store."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from dashboard.live_api import LARGE_BBOX, LiveApi, analysed_tiles, create_body, running_api
from support.redis_server import RedisServer

from evalbatch.settings import Settings
from evalbatch.states import RequestStatus, TileStatus
from ops.api_client import PAGE_SIZE
from ops.cli import cli
from ops.requests_cli import requests_group, resolve_api_url

FAILED_TILE_ERROR = "no scenes in the time range"


@pytest.fixture
def live_api(redis_server: RedisServer) -> Iterator[LiveApi]:
    with running_api(redis_server.url) as live:
        yield live


def invoke(live: LiveApi, credentials: dict[str, str], *args: str) -> object:
    """Run `requests ARGS` against the live API with the client's credentials from the environment."""
    env = {"EVALBATCH_CLIENT_ID": credentials["client_id"], "EVALBATCH_CLIENT_SECRET": credentials["client_secret"]}
    return CliRunner().invoke(requests_group, [args[0], "--api-url", live.url, *args[1:]], env=env)


def processing_request(live: LiveApi, credentials: dict[str, str], description: str) -> tuple[str, list[int]]:
    """A request created through the API whose tiles the 'analysis' stored; now PROCESSING."""
    with live.connect(credentials) as api:
        request_id = api.create(create_body(description))["id"]
    tiles = analysed_tiles(request_id)
    live.store.put_tiles(request_id, tiles)
    live.store.update_request(request_id, tileCount=len(tiles))
    assert live.store.transition(request_id, RequestStatus.PROCESSING, [RequestStatus.CREATED])
    return request_id, [tile["id"] for tile in tiles]


def finish_tile(live: LiveApi, request_id: str, tile_id: int, status: TileStatus) -> None:
    """What a worker does when a tile ends: run record, then the final status."""
    error = FAILED_TILE_ERROR if status is TileStatus.FAILED else None
    live.store.update_tile_info(request_id, tile_id, attempts=1, seconds=2.5, error=error)
    assert live.store.set_tile_status(request_id, tile_id, status) is not None


def test_watch_follows_tiles_until_final_then_summarises(live_api: LiveApi) -> None:
    credentials = live_api.new_client("watcher")
    request_id, tile_ids = processing_request(live_api, credentials, "watched")
    outcome = {tile_id: TileStatus.PROCESSED for tile_id in tile_ids}
    failed_id = tile_ids[3]
    outcome[failed_id] = TileStatus.FAILED
    poll_path = f"/api/v1/batch/process/{request_id}"
    problems: list[BaseException] = []

    def workers() -> None:
        try:
            for tile_id, status in outcome.items():
                finish_tile(live_api, request_id, tile_id, status)
                live_api.log.wait_for_answer("GET", poll_path, since=live_api.log.mark())  # the watcher saw it
            live_api.store.transition(request_id, RequestStatus.PARTIAL, [RequestStatus.PROCESSING])
        except BaseException as error:  # reported by the test thread
            problems.append(error)

    thread = threading.Thread(target=workers)
    thread.start()
    result = invoke(live_api, credentials, "watch", request_id, "--interval", "0.05")
    thread.join(timeout=60)
    assert not problems, problems

    assert result.exit_code == 1, result.output  # PARTIAL is not DONE
    total = len(tile_ids)
    shown = {int(n) for n in re.findall(rf"(\d+)/{total} ", result.stderr)}
    assert shown >= set(range(1, total + 1)), result.stderr  # every intermediate count was displayed
    lines = result.stdout.splitlines()
    assert lines[0] == f"request {request_id}: PARTIAL"
    assert lines[1] == f"tiles: PROCESSED {total - 1}, FAILED 1 (of {total})"
    failed_rows = [line for line in lines if line.startswith(str(failed_id))]
    assert len(failed_rows) == 1 and failed_rows[0].endswith(FAILED_TILE_ERROR)


def test_watch_of_a_done_request_exits_zero(live_api: LiveApi) -> None:
    credentials = live_api.new_client("done")
    request_id, tile_ids = processing_request(live_api, credentials, "done")
    for tile_id in tile_ids:
        finish_tile(live_api, request_id, tile_id, TileStatus.PROCESSED)
    live_api.store.transition(request_id, RequestStatus.DONE, [RequestStatus.PROCESSING])
    result = invoke(live_api, credentials, "watch", request_id)
    assert result.exit_code == 0, result.output
    assert "failed tiles" not in result.stdout
    assert f"tiles: PROCESSED {len(tile_ids)} (of {len(tile_ids)})" in result.stdout


def test_list_show_and_tiles(live_api: LiveApi) -> None:
    credentials = live_api.new_client("lister")
    request_id, tile_ids = processing_request(live_api, credentials, "listed")
    with live_api.connect(credentials) as api:
        other_id = api.create(create_body("second"))["id"]
    finish_tile(live_api, request_id, tile_ids[0], TileStatus.FAILED)
    stranger = live_api.new_client("stranger")
    with live_api.connect(stranger) as api:
        foreign_id = api.create(create_body("not yours"))["id"]

    listed = invoke(live_api, credentials, "list")
    assert listed.exit_code == 0, listed.output
    rows = listed.stdout.splitlines()[1:]
    assert [row.split()[0] for row in rows] == [other_id, request_id]  # newest first, own requests only
    assert foreign_id not in listed.stdout
    assert rows[1].split()[1:4] == ["PROCESSING", f"1/{len(tile_ids)}", "1"]

    shown = invoke(live_api, credentials, "show", request_id, "--json")
    assert shown.exit_code == 0, shown.output
    request = json.loads(shown.stdout)
    assert request["tileStatusCounts"][TileStatus.FAILED] == 1 and request["tileCount"] == len(tile_ids)

    failed = invoke(live_api, credentials, "tiles", request_id, "--status", "failed")
    assert failed.exit_code == 0, failed.output
    assert [row.split()[:3] for row in failed.stdout.splitlines()[1:]] == [
        [str(tile_ids[0]), analysed_tiles(request_id)[0]["name"], "FAILED"]
    ]
    assert failed.stdout.rstrip().endswith(FAILED_TILE_ERROR)

    everything = invoke(live_api, credentials, "tiles", request_id, "--json")
    assert sorted(tile["id"] for tile in json.loads(everything.stdout)) == sorted(tile_ids)


def test_tiles_of_a_large_request_follow_every_page(live_api: LiveApi) -> None:
    credentials = live_api.new_client("large")
    with live_api.connect(credentials) as api:
        request_id = api.create(create_body("large", LARGE_BBOX))["id"]
    tiles = analysed_tiles(request_id, LARGE_BBOX)
    assert len(tiles) > PAGE_SIZE
    live_api.store.put_tiles(request_id, tiles)
    listed = invoke(live_api, credentials, "tiles", request_id, "--json")
    assert listed.exit_code == 0, listed.output
    assert [tile["id"] for tile in json.loads(listed.stdout)] == sorted(tile["id"] for tile in tiles)


def test_api_errors_are_one_line_messages(live_api: LiveApi) -> None:
    credentials = live_api.new_client("errors")
    unknown_id = "00000000-0000-4000-8000-000000000000"
    with live_api.connect(credentials) as api:
        answer = api.http.get(f"/api/v1/batch/process/{unknown_id}")
    assert answer.status_code == 404
    missing = invoke(live_api, credentials, "show", unknown_id)
    assert missing.exit_code == 1
    assert missing.output.strip() == f"Error: {answer.json()['error']['message']}"

    wrong = {**credentials, "client_secret": "wrong"}
    refusal = httpx.post(f"{live_api.url}/oauth/token", data={"grant_type": "client_credentials", **wrong})
    assert refusal.status_code == 401
    refused = invoke(live_api, wrong, "list")
    assert refused.exit_code == 1
    assert refused.output.strip() == f"Error: {refusal.json()['error_description']}"


def test_evalbatch_requests_finds_the_api_of_the_stack_in_home(
    live_api: LiveApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVALBATCH_PUBLIC_URL", raising=False)
    monkeypatch.setitem(cli.commands, "requests", requests_group)  # as ops.cli registers it
    (tmp_path / "services.json").write_text(json.dumps({"urls": {"api": live_api.url}}))
    credentials = live_api.new_client("home")
    with live_api.connect(credentials) as api:
        request_id = api.create(create_body("found through home"))["id"]
    env = {"EVALBATCH_CLIENT_ID": credentials["client_id"], "EVALBATCH_CLIENT_SECRET": credentials["client_secret"]}
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "requests", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert request_id in result.stdout


def test_api_url_comes_from_option_environment_then_local_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVALBATCH_PUBLIC_URL", raising=False)
    assert resolve_api_url(None, tmp_path) == Settings(_env_file=None).public_url  # nothing known: the default
    (tmp_path / "services.json").write_text(json.dumps({"urls": {"api": "http://127.0.0.1:9123"}}))
    assert resolve_api_url(None, tmp_path) == "http://127.0.0.1:9123"
    monkeypatch.setenv("EVALBATCH_PUBLIC_URL", "https://batch.example")
    assert resolve_api_url(None, tmp_path) == "https://batch.example"
    assert resolve_api_url("http://elsewhere:1", tmp_path) == "http://elsewhere:1"
