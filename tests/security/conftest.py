"""Fixtures of the security tests: Redis and moto S3 on free ports, the app in process and under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from security_support import (
    OTHER_BUCKET,
    RESULTS_BUCKET,
    ApiServer,
    deployment_env,
    deployment_settings,
    deployment_values,
    start_api_server,
)
from support.api_accounts import moto_s3
from support.redis_server import running_redis

from evalbatch.settings import Settings
from ops.ports import free_port


@pytest.fixture(scope="session")
def security_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of the security tests."""
    with running_redis(tmp_path_factory.mktemp("security-redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server with the results bucket and a bucket that outputs may not go to."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    s3 = moto_s3(url)
    for bucket in (RESULTS_BUCKET, OTHER_BUCKET):
        s3.create_bucket(Bucket=bucket)
    yield url
    server.stop()


@pytest.fixture(scope="session")
def deployment(security_redis_url: str, s3_endpoint: str) -> dict[str, object]:
    """The settings values shared by the in-process app and the uvicorn server."""
    return deployment_values(security_redis_url, s3_endpoint)


@pytest.fixture
def redis_conn(security_redis_url: str) -> Iterator[redis.Redis]:
    """A connection to the emptied test database."""
    client = redis.Redis.from_url(security_redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def settings(deployment: dict[str, object], redis_conn: redis.Redis) -> Settings:
    """Settings of the in-process app (the database is emptied first)."""
    return deployment_settings(deployment)




@pytest.fixture(scope="session")
def api_server(deployment: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The app under uvicorn on a free port, logging at INFO to a file the tests read."""
    server = start_api_server(deployment_env(deployment), free_port(), tmp_path_factory.mktemp("api-server"))
    yield server
    server.stop()
