"""Secrets: client secrets are stored hashed; S3 keys given in v2 requests never leave the secret store.

The delivery keys must not appear in any response (create, get, list, update, errors), in the server's log
(uvicorn's access log and every logger at INFO), in the request copy uploaded to the delivery bucket, nor in the
stored request; the workers still get them through `Store.get_secrets`.
"""

from __future__ import annotations

import json
import secrets
import uuid

import httpx
import pytest
import redis
from security_bodies import v1_body, v2_body, with_value
from security_support import RESULTS_BUCKET, ApiServer
from support.api_accounts import Account, moto_s3, register

from evalbatch import accounts, keys
from evalbatch.store import Store


def redis_text(client: redis.Redis) -> str:
    """Every key and value of the database (strings, hashes, lists, sets, sorted sets) as one text."""
    parts: list[str] = []
    for key in client.scan_iter():
        kind = client.type(key).decode()
        if kind == "string":
            values = [client.get(key)]
        elif kind == "hash":
            values = [item for pair in client.hgetall(key).items() for item in pair]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "set":
            values = list(client.smembers(key))
        else:
            values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        parts.append(key.decode(errors="replace"))
        parts.extend(v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in values)
    return "\n".join(parts)


def test_client_secrets_are_stored_salted_and_hashed(
    client, redis_conn: redis.Redis, alice: Account, bob: Account
) -> None:
    stored = redis_text(redis_conn)
    assert alice.client_id in stored and bob.client_id in stored  # the scan sees the clients
    for account in (alice, bob):
        assert account.client_secret not in stored
        record = {k.decode(): v.decode() for k, v in redis_conn.hgetall(keys.client(account.client_id)).items()}
        assert set(record) == {"account_id", "name", "salt", "secret_hash"}
        assert len(bytes.fromhex(record["salt"])) >= 16
        assert accounts.verify_client(redis_conn, account.client_id, account.client_secret) is not None
        assert accounts.verify_client(redis_conn, account.client_id, account.client_secret + "x") is None
    alice_hash = redis_conn.hget(keys.client(alice.client_id), "secret_hash")
    bob_hash = redis_conn.hget(keys.client(bob.client_id), "secret_hash")
    assert alice_hash != bob_hash


@pytest.fixture
def delivery_keys() -> tuple[str, str]:
    """An access key and a secret key that appear nowhere else."""
    return f"AKIA{uuid.uuid4().hex[:16].upper()}", f"sk-{secrets.token_urlsafe(30)}"


@pytest.fixture
def http(api_server: ApiServer, redis_conn: redis.Redis) -> httpx.Client:
    """An HTTP client of the uvicorn server (database emptied)."""
    with httpx.Client(base_url=api_server.url, timeout=30) as session:
        yield session


def _texts_of_every_call(http: httpx.Client, account: Account, access_key: str, secret_key: str) -> tuple[str, list]:
    """Exercise create (JSON and multipart), get, list, search, update, actions and failing creates, all with
    the keys in the body; returns (task id, [response texts])."""
    headers = account.headers
    body = v2_body(access_key, secret_key)
    created = http.post("/api/v2/batch/process", json=body, headers=headers)
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    responses = [created]
    responses.append(
        http.post(
            "/api/v2/batch/process",
            files={"request": (None, json.dumps(body)), "evalscript": (None, body["processRequest"]["evalscript"])},
            headers=headers,
        )
    )
    responses.append(http.get(f"/api/v2/batch/process/{task_id}", headers=headers))
    responses.append(http.get("/api/v2/batch/process", headers=headers))
    responses.append(http.get("/api/v2/batch/process", params={"search": task_id[:8]}, headers=headers))
    update = {"description": "renamed", "output": body["output"], "accessKey": access_key,
              "secretAccessKey": secret_key}  # fmt: skip
    responses.append(http.put(f"/api/v2/batch/process/{task_id}", json=update, headers=headers))
    responses.append(http.post(f"/api/v2/batch/process/{task_id}/stop", headers=headers))
    failing = [
        with_value(body, "input.id", 99),  # unknown grid
        with_value(body, "output.delivery.s3.url", "s3://someone-elses-bucket/<tileName>.tif"),
        with_value(body, "output.delivery.s3.accessKey", [access_key]),  # wrong type
        with_value(body, "output.delivery.s3.secretAccessKey", {"value": secret_key}),
        with_value(body, "processRequest.input.bounds.bbox", [secret_key, access_key, 1, 2]),
    ]
    for bad in failing:
        responses.append(http.post("/api/v2/batch/process", json=bad, headers=headers))
        assert responses[-1].status_code == 400, responses[-1].text
    v1 = v1_body(output={"defaultTilePath": f"s3://{RESULTS_BUCKET}/v1", "accessKey": access_key,
                         "secretAccessKey": secret_key})  # fmt: skip
    responses.append(http.post("/api/v1/batch/process", json=v1, headers=headers))
    assert [r.status_code for r in responses[:7]] == [201, 201, 200, 200, 200, 200, 204]
    assert responses[-1].status_code == 201, responses[-1].text
    return task_id, [r.text for r in responses]


def test_delivery_keys_never_appear_in_responses_logs_or_uploads(
    http: httpx.Client,
    api_server: ApiServer,
    redis_conn: redis.Redis,
    s3_endpoint: str,
    delivery_keys: tuple[str, str],
) -> None:
    access_key, secret_key = delivery_keys
    account = register(redis_conn, http, "secretive")
    task_id, texts = _texts_of_every_call(http, account, access_key, secret_key)
    assert any(task_id in text for text in texts)  # the texts are the real answers
    for text in texts:
        assert access_key not in text and secret_key not in text

    log = api_server.log_text()
    assert f"/api/v2/batch/process/{task_id}" in log  # the log is the server's, with this test's calls
    assert access_key not in log and secret_key not in log

    s3 = moto_s3(s3_endpoint)
    copy_key = f"v2/request-{task_id}.json"
    uploaded = s3.get_object(Bucket=RESULTS_BUCKET, Key=copy_key)["Body"].read().decode()
    assert json.loads(uploaded)["output"]["delivery"]["s3"]["url"].startswith(f"s3://{RESULTS_BUCKET}/v2/")
    assert access_key not in uploaded and secret_key not in uploaded

    store = Store(redis_conn)
    assert access_key not in json.dumps(store.get_request(task_id))
    assert store.get_secrets(task_id)["s3"] == {"accessKey": access_key, "secretAccessKey": secret_key}
