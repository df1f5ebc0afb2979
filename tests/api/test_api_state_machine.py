"""Every (status, action) pair of the transition table, driven through the HTTP endpoints of v1 and v2."""

from __future__ import annotations

import pytest
from api_bodies import v1_body, v2_body
from fastapi.testclient import TestClient
from support.api_accounts import Account

from evalbatch import keys, queues
from evalbatch.states import (
    RESTART_PARTIAL_MESSAGE,
    Action,
    Outcome,
    RequestStatus,
    TileStatus,
    decide,
    v1_status,
    v1_user_action,
    v2_status,
    v2_user_action,
)
from evalbatch.store import Store

V1_ENDPOINTS = {
    Action.ANALYSE: ("POST", "analyse"),
    Action.START: ("POST", "start"),
    Action.CANCEL: ("POST", "cancel"),
    Action.RESTART_PARTIAL: ("POST", "restartpartial"),
    Action.UPDATE: ("PUT", ""),
    Action.DELETE: ("DELETE", ""),
}
V2_ENDPOINTS = {
    Action.ANALYSE: ("POST", "analyse"),
    Action.START: ("POST", "start"),
    Action.CANCEL: ("POST", "stop"),
    Action.UPDATE: ("PUT", ""),
}
SUCCESS = {"POST": 204, "PUT": 200, "DELETE": 204}
V2_STATUSES = {"CREATED", "ANALYSING", "ANALYSIS_DONE", "PROCESSING", "DONE", "FAILED", "STOPPED"}
V2_USER_ACTIONS = {"NONE", "ANALYSE", "START", "STOP"}
CASES = [(1, s, a) for s in RequestStatus for a in V1_ENDPOINTS] + [
    (2, s, a) for s in RequestStatus for a in V2_ENDPOINTS
]


def _prepare(client: TestClient, account: Account, version: int, status: RequestStatus) -> tuple[str, Store]:
    """A request of `account` forced into `status`; analysed states get two tiles (one FAILED if PARTIAL)."""
    body = v1_body() if version == 1 else v2_body()
    request_id = client.post(f"/api/v{version}/batch/process", json=body, headers=account.headers).json()["id"]
    store = Store(client.app.state.redis)
    if status not in (RequestStatus.CREATED, RequestStatus.ANALYSING):
        store.put_tiles(request_id, [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
        store.update_request(request_id, tileCount=2)
    if status is RequestStatus.PARTIAL:
        store.set_tile_status(request_id, 2, TileStatus.FAILED)
    store.update_request(request_id, status=status.value)
    return request_id, store


def _queued_control_jobs(client: TestClient) -> set[str]:
    return set(queues.control_queue(client.app.state.redis).job_ids)


@pytest.mark.parametrize(("version", "status", "action"), CASES, ids=[f"v{v}-{s}-{a}" for v, s, a in CASES])
def test_transition_through_http(
    client: TestClient, alice: Account, version: int, status: RequestStatus, action: Action
) -> None:
    request_id, store = _prepare(client, alice, version, status)
    before = store.get_request(request_id)
    jobs_before = _queued_control_jobs(client)
    method, segment = (V1_ENDPOINTS if version == 1 else V2_ENDPOINTS)[action]
    path = f"/api/v{version}/batch/process/{request_id}" + (f"/{segment}" if segment else "")
    body = {"description": "changed"} if method == "PUT" else None
    response = client.request(method, path, json=body, headers=alice.headers)
    rule = decide(status, action, version)
    after = store.get_request(request_id)
    new_jobs = _queued_control_jobs(client) - jobs_before

    if rule.outcome is Outcome.APPLY:
        assert response.status_code == SUCCESS[method], response.text
        if action is Action.DELETE:
            assert after is None
            assert client.get(path, headers=alice.headers).status_code == 404
            return
        assert after["status"] == (rule.to or status).value
        if rule.user_action is not None:
            assert after["userAction"] == rule.user_action.value
        if action is Action.UPDATE:
            assert response.json()["description"] == "changed"
    else:
        expected = {Outcome.NOOP: 204, Outcome.REJECT: 400, Outcome.CONFLICT: 409}[rule.outcome]
        assert response.status_code == expected, response.text
        assert (after["status"], after["userAction"]) == (before["status"], before["userAction"])
        assert after.get("description") == before.get("description")
        assert new_jobs == set()
        if rule.outcome is Outcome.REJECT:
            error = response.json()["error"]
            assert error["code"] == "COMMON_BAD_PAYLOAD"
            if action is Action.RESTART_PARTIAL:
                assert error["message"] == RESTART_PARTIAL_MESSAGE
            else:
                shown = v1_status(status) if version == 1 else v2_status(status)
                assert shown in error["message"]
                assert version == 1 or ("PARTIAL" not in error["message"] and "CANCELED" not in error["message"])
        if rule.outcome is Outcome.CONFLICT:
            assert response.json()["error"]["code"] == "COMMON_CONFLICT"

    # side effects: the right control job is queued
    if rule.outcome is Outcome.APPLY and action in (Action.ANALYSE, Action.START) and status is RequestStatus.CREATED:
        assert keys.analyse_job_id(request_id) in new_jobs
    if rule.outcome is Outcome.APPLY and action is Action.START and status in (
        RequestStatus.ANALYSIS_DONE, RequestStatus.CANCELED
    ):
        assert keys.start_job_id(request_id) in new_jobs
    if rule.outcome is Outcome.APPLY and action is Action.RESTART_PARTIAL:
        assert keys.start_job_id(request_id) in new_jobs
        assert store.tile_counts(request_id)[TileStatus.FAILED] == 0
        assert store.tile_counts(request_id)[TileStatus.PENDING] == 2

    # what the client sees uses only its version's enums
    view = client.get(f"/api/v{version}/batch/process/{request_id}", headers=alice.headers).json()
    if version == 2:
        assert view["status"] in V2_STATUSES and view["userAction"] in V2_USER_ACTIONS
        assert view["status"] == v2_status(after["status"])
        assert view["userAction"] == v2_user_action(after["userAction"])
        assert isinstance(view["completionPercentage"], float)
        if view["status"] == "STOPPED":
            assert view["stoppedStatusReason"] == "USER_ACTION"
    else:
        assert view["status"] == v1_status(after["status"])
        assert view["userAction"] == v1_user_action(after["userAction"])


def test_delete_is_refused_after_start_or_with_processed_tiles(client: TestClient, alice: Account) -> None:
    started, store = _prepare(client, alice, 1, RequestStatus.CANCELED)
    store.update_request(started, userAction="START")
    response = client.delete(f"/api/v1/batch/process/{started}", headers=alice.headers)
    assert response.status_code == 409
    processed, _ = _prepare(client, alice, 1, RequestStatus.CANCELED)
    store.set_tile_status(processed, 1, TileStatus.PROCESSED)
    assert client.delete(f"/api/v1/batch/process/{processed}", headers=alice.headers).status_code == 409
    # canceled after its tiles were handed to workers: userAction says CANCEL, the queued tile still counts
    queued, _ = _prepare(client, alice, 1, RequestStatus.CANCELED)
    store.set_tile_status(queued, 1, TileStatus.QUEUED)
    response = client.delete(f"/api/v1/batch/process/{queued}", headers=alice.headers)
    assert response.status_code == 409 and "started" in response.json()["error"]["message"]
    for request_id in (started, processed, queued):
        assert store.get_request(request_id) is not None


def test_cancel_stops_the_queued_tile_jobs(client: TestClient, alice: Account) -> None:
    request_id, store = _prepare(client, alice, 1, RequestStatus.PROCESSING)
    tile_queue = queues.tile_queue(client.app.state.redis)
    for tile_id in (1, 2):
        job_id = keys.tile_job_id(request_id, tile_id)
        tile_queue.enqueue("workers.jobs.process_tiles", request_id, [tile_id], job_id=job_id)
    store.set_tile_status(request_id, 1, TileStatus.QUEUED)
    store.set_tile_status(request_id, 2, TileStatus.PROCESSED)
    assert client.post(f"/api/v1/batch/process/{request_id}/cancel", headers=alice.headers).status_code == 204
    assert tile_queue.job_ids == [keys.tile_job_id(request_id, 2)]  # the final tile's job was left alone
    view = client.get(f"/api/v1/batch/process/{request_id}", headers=alice.headers).json()
    assert (view["status"], view["userAction"]) == ("CANCELED", "CANCEL")


def test_v2_resume_requeues_the_interrupted_tiles(client: TestClient, alice: Account) -> None:
    request_id, store = _prepare(client, alice, 2, RequestStatus.PROCESSING)
    store.put_tiles(request_id, [{"id": i, "name": f"t{i}"} for i in range(1, 5)])
    store.set_tile_status(request_id, 1, TileStatus.PROCESSED)
    store.set_tile_status(request_id, 2, TileStatus.QUEUED)
    store.set_tile_status(request_id, 3, TileStatus.PROCESSING)
    assert client.post(f"/api/v2/batch/process/{request_id}/stop", headers=alice.headers).status_code == 204
    assert client.post(f"/api/v2/batch/process/{request_id}/start", headers=alice.headers).status_code == 204
    counts = store.tile_counts(request_id)
    assert (counts[TileStatus.PROCESSED], counts[TileStatus.PENDING]) == (1, 3)
    assert store.get_request(request_id)["status"] == RequestStatus.PROCESSING


def test_v2_resume_of_a_task_stopped_before_analysis_analyses_again(client: TestClient, alice: Account) -> None:
    request_id, store = _prepare(client, alice, 2, RequestStatus.CREATED)
    assert client.post(f"/api/v2/batch/process/{request_id}/stop", headers=alice.headers).status_code == 204
    assert client.post(f"/api/v2/batch/process/{request_id}/start", headers=alice.headers).status_code == 204
    assert store.get_request(request_id)["status"] == RequestStatus.ANALYSING
    assert keys.analyse_job_id(request_id) in _queued_control_jobs(client)
