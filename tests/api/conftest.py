"""Fixtures of the API tests: a private redis-server and moto S3 on free ports, the app, two accounts."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from api_support import (
    RESULTS_BUCKET,
    SIGNING_KEY,
    LiveServer,
)
from support.api_accounts import TEST_S3_KEY, TEST_S3_SECRET, moto_s3

from evalbatch.settings import Settings
from ops.ports import free_port


@pytest.fixture(scope="session")
def api_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of the API tests (no persistence)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server with the results bucket."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    moto_s3(url).create_bucket(Bucket=RESULTS_BUCKET)
    yield url
    server.stop()


@pytest.fixture
def redis_conn(api_redis_url: str) -> Iterator[redis.Redis]:
    """A connection to an empty test database."""
    client = redis.Redis.from_url(api_redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def settings(api_redis_url: str, s3_endpoint: str, redis_conn: redis.Redis) -> Settings:
    """Settings of a test deployment (limits small enough to hit)."""
    return Settings(
        _env_file=None,
        redis_url=api_redis_url,
        s3_endpoint_url=s3_endpoint,
        s3_access_key=TEST_S3_KEY,
        s3_secret_key=TEST_S3_SECRET,
        signing_key=SIGNING_KEY,
        max_body_bytes=200_000,
        max_evalscript_bytes=50_000,
        max_aoi_vertices=1000,
        max_tiles_per_request=500,
    )




@pytest.fixture(scope="session")
def live_server(api_redis_url: str, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`uvicorn api.app:create_app --factory` on a free port, configured through EVALBATCH_* variables."""
    import os
    import sys

    import httpx

    port = free_port()
    env = {
        **os.environ,
        "EVALBATCH_REDIS_URL": api_redis_url,
        "EVALBATCH_S3_ENDPOINT_URL": s3_endpoint,
        "EVALBATCH_S3_ACCESS_KEY": TEST_S3_KEY,
        "EVALBATCH_S3_SECRET_KEY": TEST_S3_SECRET,
        "EVALBATCH_SIGNING_KEY": SIGNING_KEY,
        "EVALBATCH_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    log = (tmp_path_factory.mktemp("uvicorn") / "uvicorn.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}")
        time.sleep(0.1)
    yield LiveServer(url, env)
    process.terminate()
    process.wait(timeout=10)
    log.close()
