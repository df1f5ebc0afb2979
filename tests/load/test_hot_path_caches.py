"""What the API's hot path does to be cheap under load stays correct: the verified-token cache never accepts
what a fresh verification would refuse, and the load benchmark's answer checks really catch wrong answers."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson
import pytest

from api.auth import issue_token, verify_token
from api.errors import Unauthorized
from evalbatch.accounts import Client
from evalbatch.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # bench/ is not a package
from api_load import parse_answer, request_problem, tile_page_problem

SETTINGS = Settings(signing_key="load-tests-signing-key-" + "x" * 32, token_lifetime_s=600)
OWNER = Client(client_id="client-1", account_id="account-1", name="load")
REQUEST_ID = "request-1"


def test_a_cached_token_is_refused_once_it_expires() -> None:
    issued_at = time.time()
    token = str(issue_token(OWNER, SETTINGS, now=issued_at)["access_token"])
    assert verify_token(token, SETTINGS).account_id == "account-1"  # verified, now cached
    assert verify_token(token, SETTINGS, now=issued_at + 599).account_id == "account-1"
    with pytest.raises(Unauthorized, match="expired"):
        verify_token(token, SETTINGS, now=issued_at + 600)


def test_a_cached_token_is_refused_under_another_signing_key_or_audience() -> None:
    token = str(issue_token(OWNER, SETTINGS)["access_token"])
    assert verify_token(token, SETTINGS).client_id == "client-1"
    with pytest.raises(Unauthorized, match="Invalid access token"):
        verify_token(token, SETTINGS.model_copy(update={"signing_key": "another-key-" + "y" * 32}))
    with pytest.raises(Unauthorized, match="not meant for this service"):
        verify_token(token, SETTINGS.model_copy(update={"token_audience": "another-service"}))


def test_an_invalid_token_stays_invalid_when_asked_again() -> None:
    token = str(issue_token(OWNER, SETTINGS)["access_token"])
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verify_token(forged, SETTINGS)


def tile(tile_id: int, request_id: str = REQUEST_ID, status: str = "PENDING") -> dict:
    return {"id": tile_id, "requestId": request_id, "status": status, "geometry": {"type": "Polygon"}}


def request_answer_problem(body: object) -> str | None:
    """What the benchmark finds wrong with this JSON answer to GET request (parsed as the benchmark parses it)."""
    answer, problem = parse_answer("get request", orjson.dumps(body))
    return problem or request_problem(answer, REQUEST_ID)


def tile_page_answer_problem(page: object, after: int | None) -> str | None:
    """What the benchmark finds wrong with this JSON tiles page."""
    answer, problem = parse_answer("list tiles", orjson.dumps(page))
    return problem or tile_page_problem(answer, REQUEST_ID, after)


def test_the_benchmark_accepts_the_answers_asked_for() -> None:
    assert request_answer_problem({"id": REQUEST_ID, "status": "PROCESSING", "tileCount": 3}) is None
    assert tile_page_answer_problem({"data": [tile(5), tile(7)], "links": {"nextToken": "x"}}, after=3) is None
    assert tile_page_answer_problem({"data": [tile(1)], "links": {}}, after=None) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"id": "request-2", "status": "PROCESSING"}, "not request"),
        ({"id": REQUEST_ID, "status": "RUNNING"}, "unknown status"),
        ({"id": REQUEST_ID}, "unexpected answer"),
        ({"id": 7, "status": "DONE"}, "unexpected answer"),
        ([], "unexpected answer"),
    ],
)
def test_the_benchmark_counts_a_wrong_request_answer(body: object, problem: str) -> None:
    assert problem in str(request_answer_problem(body))


@pytest.mark.parametrize(
    ("page", "after", "problem"),
    [
        ({"data": [], "links": {}}, None, "no page"),
        ({"error": {"status": 500}}, None, "unexpected answer"),
        ({"data": [{"id": 5, "status": "PENDING"}], "links": {}}, None, "unexpected answer"),
        ({"data": [tile(5, request_id="request-2")], "links": {}}, None, "another request"),
        ({"data": [tile(5, status="DONE")], "links": {}}, None, "unknown status"),
        ({"data": [tile(7), tile(5)], "links": {}}, None, "out of order"),
        ({"data": [tile(5), tile(5)], "links": {}}, None, "out of order"),
        ({"data": [tile(5), tile(7)], "links": {}}, 5, "out of order"),  # the previous page again
    ],
)
def test_the_benchmark_counts_a_wrong_tile_page(page: dict, after: int | None, problem: str) -> None:
    assert problem in str(tile_page_answer_problem(page, after))
