"""Per-account rate limiting answers every batch endpoint with a documented 429 (error body, Retry-After)."""

from __future__ import annotations

import re

import pytest
import redis
from fastapi.testclient import TestClient
from security_support import ROUTES, assert_error, route_id
from support.api_accounts import register

from api.app import create_app
from api.openapi import load_openapi
from evalbatch.settings import Settings


def documented_responses(method: str, path: str) -> dict:
    """The documented responses of an operation (app path parameters renamed as in openapi.yaml)."""
    paths = load_openapi()["paths"]
    pattern = re.sub(r"\\{[^}]+\\}", r"\\{[^}]+\\}", re.escape(path))
    matches = [item for documented, item in paths.items() if re.fullmatch(pattern, documented)]
    assert len(matches) == 1, path
    return matches[0][method.lower()]["responses"]


@pytest.fixture
def limited_client(settings: Settings) -> TestClient:
    """An app allowing one call per account and minute."""
    with TestClient(create_app(settings.model_copy(update={"rate_limit_per_minute": 1}))) as test_client:
        yield test_client


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_the_call_over_the_limit_is_a_documented_429(
    limited_client: TestClient, redis_conn: redis.Redis, route: tuple[str, str]
) -> None:
    account = register(redis_conn, limited_client, "eager")
    method, template = route
    path = template.replace("{request_id}", "00000000-0000-4000-8000-000000000000")
    path = path.replace("{tile_id}", "1").replace("{grid_id}", "0")
    first = limited_client.request(method, path, headers=account.headers)
    assert first.status_code != 429
    second = limited_client.request(method, path, headers=account.headers)
    assert_error(second, 429, "RATE_LIMIT_EXCEEDED")
    assert int(second.headers["Retry-After"]) > 0
    assert "429" in documented_responses(method, template)
