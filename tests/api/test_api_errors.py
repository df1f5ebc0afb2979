"""The error format for unknown routes, internal errors and rate limiting; health."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_bodies import v1_body
from fastapi.testclient import TestClient
from support.api_accounts import Account, register

from api.app import create_app
from api.service import BatchService
from evalbatch.settings import Settings


def test_unknown_route_and_unknown_request(client: TestClient, alice: Account) -> None:
    for path in ("/api/v1/batch/nothing", "/api/v1/batch/process/6582e1e9-9760-41ef-bd56-c3c1adb08765"):
        response = client.get(path, headers=alice.headers)
        assert response.status_code == 404
        error = response.json()["error"]
        assert (error["status"], error["reason"], error["code"]) == (404, "Not Found", "COMMON_NOT_FOUND")


def test_internal_errors_do_not_leak(client: TestClient, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr(BatchService, "list_page", explode)
    response = client.get("/api/v1/batch/process", headers=alice.headers)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "COMMON_EXCEPTION"
    assert "hunter2" not in response.text and "Traceback" not in response.text


def test_empty_action_body_with_json_content_type(client: TestClient, alice: Account) -> None:
    request_id = client.post("/api/v1/batch/process", json=v1_body(), headers=alice.headers).json()["id"]
    response = client.post(
        f"/api/v1/batch/process/{request_id}/analyse",
        content=b"",
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 204 and response.content == b""


@pytest.fixture
def limited_client(settings: Settings) -> Iterator[TestClient]:
    """An app allowing 3 calls per account and minute."""
    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    with TestClient(create_app(limited), raise_server_exceptions=False) as test_client:
        yield test_client


def test_rate_limit_answers_429_with_retry_after_in_ms(limited_client: TestClient, redis_conn) -> None:
    alice = register(redis_conn, limited_client, "alice")
    bob = register(redis_conn, limited_client, "bob")
    statuses = [limited_client.get("/api/v1/batch/process", headers=alice.headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = limited_client.get("/api/v2/batch/tilinggrids", headers=alice.headers)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    retry_ms = int(response.headers["Retry-After"])
    assert 0 < retry_ms <= 60_000
    # other accounts are not affected
    assert limited_client.get("/api/v1/batch/process", headers=bob.headers).status_code == 200


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_health_reports_a_dead_redis(settings: Settings) -> None:
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(broken), raise_server_exceptions=False) as test_client:
        response = test_client.get("/health")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "COMMON_EXCEPTION"
