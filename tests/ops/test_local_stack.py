"""The local stack for real: persistence across down/up, idempotent starts, clear start-up errors."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from botocore.exceptions import ClientError
from support.stack import running_stack

from ops import processes, worker_service
from ops.ports import StackPorts, port_is_free
from ops.services import LocalStack, ServiceError
from ops.web_services import ApiService, module_missing

pytestmark = pytest.mark.e2e

COLLECTION = {
    "type": "Collection",
    "stac_version": "1.0.0",
    "id": "persistence-check",
    "description": "written before a restart",
    "license": "proprietary",
    "extent": {"spatial": {"bbox": [[11.9, 46.0, 12.1, 46.1]]}, "temporal": {"interval": [[None, None]]}},
    "links": [],
}
ITEM = {
    "type": "Feature",
    "stac_version": "1.0.0",
    "id": "item-1",
    "collection": "persistence-check",
    "geometry": {"type": "Polygon", "coordinates": [[[11.9, 46.0], [12.1, 46.0], [12.1, 46.1], [11.9, 46.0]]]},
    "bbox": [11.9, 46.0, 12.1, 46.1],
    "properties": {"datetime": "2024-05-01T10:00:00Z", "eo:cloud_cover": 12.5},
    "assets": {},
    "links": [],
}


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_data_survives_down_and_up() -> None:
    with running_stack() as stack:
        urls = stack.describe()["urls"]
        redis.Redis.from_url(urls["redis"]).set("persisted", "yes")
        stack.s3.client().put_object(Bucket="results", Key="check/hello.txt", Body=b"still here")
        assert httpx.post(f"{urls['stac']}/collections", json=COLLECTION).status_code in (200, 201)
        item_url = f"{urls['stac']}/collections/{COLLECTION['id']}/items"
        assert httpx.post(item_url, json=ITEM).status_code in (200, 201)
        records = {service.name: service.running() for service in stack.core_services}

        assert sorted(stack.stop_all()) == sorted(records)
        seaweed_ports = {str(port) for port in stack.ports.seaweed_ports()}
        leftover_sockets = [p for p in Path(tempfile.gettempdir()).glob("seaweedfs-*.sock")
                            if p.stem.rsplit("-", 1)[-1] in seaweed_ports]  # fmt: skip
        assert leftover_sockets == []
        assert not any(processes.is_alive(record) for record in records.values() if record)
        assert all(port_is_free(port) for port in [*stack.ports.seaweed_ports(), stack.ports.redis,
                                                   stack.ports.postgres, stack.ports.stac])  # fmt: skip

        assert set(stack.start_core().values()) == {"started"}
        assert redis.Redis.from_url(urls["redis"]).get("persisted") == b"yes"
        body = stack.s3.client().get_object(Bucket="results", Key="check/hello.txt")["Body"].read()
        assert body == b"still here"
        item = httpx.get(f"{item_url}/{ITEM['id']}")
        assert item.status_code == 200
        assert item.json()["properties"]["eo:cloud_cover"] == 12.5


def test_starting_a_running_stack_is_a_no_op(local_stack: LocalStack) -> None:
    before = {service.name: service.running() for service in local_stack.core_services}
    assert set(local_stack.start_core().values()) == {"already running"}
    assert {service.name: service.running() for service in local_stack.core_services} == before


def test_status_reports_healthy_services_and_keys_that_work(local_stack: LocalStack) -> None:
    status = local_stack.status()
    for name in ("redis", "s3", "postgres", "stac"):
        assert status["services"][name]["healthy"], name
    assert redis.Redis.from_url(status["urls"]["redis"]).ping()
    assert httpx.get(status["urls"]["stac"]).json()["conformsTo"]
    buckets = local_stack.s3.client().list_buckets()["Buckets"]
    assert {bucket["Name"] for bucket in buckets} >= set(status["s3"]["buckets"].values())


def test_s3_rejects_unknown_keys(local_stack: LocalStack) -> None:
    from evalbatch.objectstore import S3Credentials, s3_client

    impostor = s3_client(S3Credentials(local_stack.describe()["urls"]["s3"], "nobody", "wrong-secret", "us-east-1"))
    with pytest.raises(ClientError):
        impostor.list_buckets()


def test_a_taken_port_fails_with_one_line_naming_the_service_and_the_fix(listening_port: int, stack_home: Path) -> None:
    stack = LocalStack(stack_home, StackPorts.random_free().replace(redis=listening_port))
    with pytest.raises(ServiceError) as failure:
        stack.start_core()
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("redis: port")
    assert str(listening_port) in message and "--redis-port" in message
    assert stack.redis.running() is None


def test_a_missing_binary_fails_with_one_line_naming_the_fix(monkeypatch: pytest.MonkeyPatch, stack_home: Path) -> None:
    monkeypatch.setattr("ops.seaweed_service.weed_binary", lambda: None)
    stack = LocalStack(stack_home, StackPorts.random_free())
    try:
        with pytest.raises(ServiceError) as failure:
            stack.start_core()
    finally:
        stopped = stack.stop_all()
    assert str(failure.value).startswith("s3: the `weed` binary")
    assert "bootstrap.sh" in str(failure.value) and "\n" not in str(failure.value)
    assert stopped == ["redis"]  # what had started before the failure, and nothing else


@pytest.mark.e2e
def test_missing_application_modules_are_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    # a stack of its own: the session's stack may already run the API and workers of other tests
    monkeypatch.setattr(ApiService, "factory", "api.not_written_yet:create_app")
    monkeypatch.setattr(worker_service, "LAUNCH_MODULE", "workers.not_written_yet")
    with running_stack() as stack:
        report = stack.start_all(workers=1)
        assert report["api"].startswith("failed: api: module api.not_written_yet is not installed")
        assert report["workers"].startswith("failed: workers: module workers.not_written_yet")
        assert {report[s.name] for s in stack.core_services} == {"already running"}


@pytest.mark.skipif(module_missing("api.app"), reason="api.app is not written yet")
def test_the_api_starts_and_answers_health(local_stack: LocalStack) -> None:
    assert local_stack.start_api() in ("started", "already running")
    assert httpx.get(f"{local_stack.describe()['urls']['api']}/health").status_code == 200
    assert local_stack.start_api() == "already running"


@pytest.mark.skipif(module_missing(worker_service.LAUNCH_MODULE), reason="workers.launch is not written yet")
def test_workers_start_scale_and_stop(local_stack: LocalStack) -> None:
    running_before = local_stack.workers.info()["count"]  # other tests of the session may rely on them
    try:
        local_stack.start_workers(2)
        assert local_stack.workers.info()["count"] == 2
        assert local_stack.start_workers(2) == "already running"
        assert local_stack.start_all(api=False)["workers"] == "already running"  # keeps the running count
        local_stack.start_workers(1)
        assert list(local_stack.workers.running()) == [1]
        local_stack.workers.stop()
        assert local_stack.workers.running() == {}
    finally:
        local_stack.workers.stop()
        if running_before:
            local_stack.start_workers(running_before)
