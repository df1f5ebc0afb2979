"""Helpers of the API tests shared by conftest.py and the test modules (accounts, ports, S3, servers)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import boto3
import redis
from fastapi.testclient import TestClient

from evalbatch import accounts

RESULTS_BUCKET = "results"
S3_KEY, S3_SECRET = "testing-key", "testing-secret"
SIGNING_KEY = "api-tests-signing-key-of-sufficient-length"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def s3_client(endpoint: str):  # boto3 client types are generated at run time
    """A boto3 S3 client of the moto server."""
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET, region_name="us-east-1"
    )


@dataclass
class Account:
    """An OAuth client of the tests and the headers carrying its token."""

    client_id: str
    client_secret: str
    account_id: str
    headers: dict[str, str]


def new_account(client: TestClient, redis_client: redis.Redis, name: str) -> Account:
    """Register an OAuth client and fetch a token for it through the token endpoint."""
    created = accounts.create_client(redis_client, name=name)
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return Account(
        created["client_id"], created["client_secret"], created["account_id"], {"Authorization": f"Bearer {token}"}
    )


@dataclass
class LiveServer:
    """A uvicorn process serving the app."""

    url: str
    env: dict[str, str]
