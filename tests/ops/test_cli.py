"""The `evalbatch` CLI: status --json fields, and a clean one-line error when a port is taken."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from ops.cli import cli
from ops.services import LocalStack


@pytest.mark.e2e
def test_status_json_has_urls_keys_and_buckets(local_stack: LocalStack) -> None:
    result = CliRunner().invoke(cli, ["--home", str(local_stack.home), "status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert set(status["urls"]) >= {"api", "stac", "s3"}
    assert status["urls"]["stac"].endswith(f":{local_stack.ports.stac}")
    credentials = local_stack.context.credentials
    assert (status["s3"]["access_key"], status["s3"]["secret_key"]) == (
        credentials.s3_access_key,
        credentials.s3_secret_key,
    )
    assert status["s3"]["buckets"] == {"archive": "archive", "results": "results"}
    assert status["services"]["stac"]["healthy"] and status["services"]["s3"]["healthy"]


def test_up_with_a_taken_port_prints_one_error_line(stack_home: Path) -> None:
    home = stack_home
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = CliRunner().invoke(cli, ["--home", str(home), "up", "--redis-port", str(port)])
    assert result.exit_code == 1
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert error_lines == [result.output.strip().splitlines()[-1]]
    assert f"redis: port {port}" in error_lines[0]
    assert not LocalStack(home).status()["services"]["redis"]["healthy"]


def test_down_on_a_stopped_stack_says_so(stack_home: Path) -> None:
    result = CliRunner().invoke(cli, ["--home", str(stack_home), "down"])
    assert result.exit_code == 0
    assert result.output.strip() == "nothing was running"


@pytest.mark.e2e
def test_client_create_stores_a_client_the_api_can_verify(local_stack: LocalStack) -> None:
    from evalbatch.accounts import verify_client

    result = CliRunner().invoke(cli, ["--home", str(local_stack.home), "client", "create", "--name", "ci"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    connection = redis.Redis.from_url(local_stack.settings.redis_url)
    client = verify_client(connection, created["client_id"], created["client_secret"])
    assert client is not None and client.name == "ci"
    assert verify_client(connection, created["client_id"], "not-the-secret") is None
