"""Accounts of the API tests: an OAuth client created in Redis and a token from `POST /oauth/token`, plus the
boto3 client of the tests' moto S3 server (which accepts any keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from evalbatch import accounts
from evalbatch.objectstore import S3Credentials, s3_client

TEST_S3_KEY, TEST_S3_SECRET = "testing-key", "testing-secret"


@dataclass
class Account:
    """An OAuth client, its account and the bearer header of a token issued by the API."""

    client_id: str
    client_secret: str
    account_id: str
    headers: dict[str, str]


def register(redis_client: redis.Redis, http: Any, name: str) -> Account:
    """Create an OAuth client in Redis and get a token through `POST /oauth/token` of `http` (httpx.Client or
    Starlette TestClient)."""
    created = accounts.create_client(redis_client, name=name)
    response = http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    return Account(
        created["client_id"],
        created["client_secret"],
        created["account_id"],
        {"Authorization": f"Bearer {response.json()['access_token']}"},
    )


def moto_s3(endpoint: str) -> Any:
    """A boto3 client of the tests' S3 server."""
    return s3_client(S3Credentials(endpoint, TEST_S3_KEY, TEST_S3_SECRET, "us-east-1"))
