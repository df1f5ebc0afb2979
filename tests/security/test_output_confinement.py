"""Output path templates cannot leave the allowed output locations (`Settings.allowed_output_buckets`).

Refused: another bucket, `..`/`.` segments, absolute or `//` keys, backslashes, placeholders in the bucket and
output identifiers that would add path segments. Each is a 400 naming the field; nothing is stored and, for v2,
no request copy is written anywhere.
"""

from __future__ import annotations

import pytest
import redis
from fastapi.testclient import TestClient
from security_bodies import v1_body, v2_body, with_value
from security_support import OTHER_BUCKET, RESULTS_BUCKET, assert_error
from support.api_accounts import Account, moto_s3, register

from api.app import create_app
from evalbatch.settings import Settings
from evalbatch.spec import JobSpec, split_s3_url
from evalbatch.store import Store

V1, V2 = "/api/v1/batch/process", "/api/v2/batch/process"
ESCAPING_V1_PATHS = {
    "other bucket": f"s3://{OTHER_BUCKET}/<tileName>/<outputId>.<format>",
    "other bucket, plain": f"s3://{OTHER_BUCKET}/outputs",
    "dot-dot": f"s3://{RESULTS_BUCKET}/../{OTHER_BUCKET}/<tileName>/<outputId>.<format>",
    "dot-dot, plain": f"s3://{RESULTS_BUCKET}/a/../../{OTHER_BUCKET}",
    "dot segment": f"s3://{RESULTS_BUCKET}/./<tileName>/<outputId>.<format>",
    "absolute key": f"s3://{RESULTS_BUCKET}//etc/<tileName>/<outputId>.<format>",
    "double slash": f"s3://{RESULTS_BUCKET}/a//<tileName>/<outputId>.<format>",
    "backslash": f"s3://{RESULTS_BUCKET}/a\\..\\b/<tileName>/<outputId>.<format>",
    "placeholder bucket": "s3://<outputId>/<tileName>.<format>",
}
ESCAPING_V2_URLS = {
    "other bucket": f"s3://{OTHER_BUCKET}/<tileName>/<outputId>.<format>",
    "dot-dot": f"s3://{RESULTS_BUCKET}/x/../../{OTHER_BUCKET}/<tileName>/<outputId>.<format>",
    "absolute key": f"s3://{RESULTS_BUCKET}//<tileName>/<outputId>.<format>",
    "dot-dot, plain": f"s3://{RESULTS_BUCKET}/..",
}


def stored_request_keys(client: redis.Redis) -> list[bytes]:
    return list(client.scan_iter("eb:req:*"))


def object_keys(s3, bucket: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def assert_refused(client: TestClient, path: str, body: dict, headers: dict, field: str, redis_conn) -> None:
    """400 naming `field`, and nothing stored or uploaded."""
    s3 = moto_s3(client.app.state.settings.s3_endpoint_url)
    before = {bucket: object_keys(s3, bucket) for bucket in (RESULTS_BUCKET, OTHER_BUCKET)}
    response = client.post(path, json=body, headers=headers)
    assert_error(response, 400, "COMMON_BAD_PAYLOAD")
    assert field in response.json()["error"]["errors"], response.text
    assert response.json()["error"]["message"].startswith(field)
    assert stored_request_keys(redis_conn) == []
    assert {bucket: object_keys(s3, bucket) for bucket in before} == before


@pytest.mark.parametrize("case", ESCAPING_V1_PATHS)
def test_v1_default_tile_path_must_stay_inside(client, alice: Account, redis_conn, case: str) -> None:
    body = with_value(v1_body(), "output.defaultTilePath", ESCAPING_V1_PATHS[case])
    assert_refused(client, V1, body, alice.headers, "output.defaultTilePath", redis_conn)


@pytest.mark.parametrize("case", ESCAPING_V1_PATHS)
def test_v1_per_output_tile_path_must_stay_inside(client, alice: Account, redis_conn, case: str) -> None:
    body = with_value(v1_body(), "output.responses", [{"identifier": "default", "tilePath": ESCAPING_V1_PATHS[case]}])
    assert_refused(client, V1, body, alice.headers, "output.responses[0].tilePath", redis_conn)


def test_v1_bucket_name_must_be_allowed(client, alice: Account, redis_conn) -> None:
    body = v1_body(bucketName=OTHER_BUCKET)
    del body["output"]
    assert_refused(client, V1, body, alice.headers, "bucketName", redis_conn)


@pytest.mark.parametrize("case", ESCAPING_V2_URLS)
def test_v2_delivery_url_must_stay_inside(client, alice: Account, redis_conn, case: str) -> None:
    body = with_value(v2_body(), "output.delivery.s3.url", ESCAPING_V2_URLS[case])
    assert_refused(client, V2, body, alice.headers, "output.delivery.s3.url", redis_conn)


@pytest.mark.parametrize("identifier", ["..", ".", "../../someone-elses-bucket/x", "a/b", "a\\b"])
@pytest.mark.parametrize("version", [1, 2])
def test_output_identifiers_cannot_add_path_segments(
    client, alice: Account, redis_conn, identifier: str, version: int
) -> None:
    body = v1_body() if version == 1 else v2_body()
    body = with_value(body, "processRequest.output.responses.0.identifier", identifier)
    field = "processRequest.output.responses[0].identifier"
    assert_refused(client, V1 if version == 1 else V2, body, alice.headers, field, redis_conn)


@pytest.mark.parametrize(
    ("version", "path"),
    [
        (1, f"s3://{RESULTS_BUCKET}/team/<requestId>/<tileName>/<outputId>.<format>"),
        (1, f"s3://{RESULTS_BUCKET}/plain/prefix"),
        (1, f"s3://{RESULTS_BUCKET}"),
        (2, f"s3://{RESULTS_BUCKET}/deliveries/<tileName>/<outputId>.<format>"),
        (2, f"s3://{RESULTS_BUCKET}/a.b/..c/<tileName>.<format>"),  # dots inside names are fine
    ],
)
def test_paths_inside_the_allowed_bucket_are_accepted(client, alice: Account, version: int, path: str) -> None:
    body = (
        with_value(v1_body(), "output.defaultTilePath", path)
        if version == 1
        else with_value(v2_body(), "output.delivery.s3.url", path)
    )
    response = client.post(V1 if version == 1 else V2, json=body, headers=alice.headers)
    assert response.status_code == 201, response.text
    spec = JobSpec.from_dict(Store(client.app.state.redis).get_request(response.json()["id"])["spec"])
    output = spec.output_path("default", response.json()["id"], "N41E012", 1)
    assert split_s3_url(output)[0] == RESULTS_BUCKET


@pytest.fixture
def prefixed_client(settings: Settings) -> TestClient:
    """An app whose only allowed output location is the prefix `results/team-a/`."""
    confined = settings.model_copy(update={"allowed_output_buckets": [f"{RESULTS_BUCKET}/team-a"]})
    with TestClient(create_app(confined), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (f"s3://{RESULTS_BUCKET}/team-a/<requestId>/<tileName>/<outputId>.<format>", True),
        (f"s3://{RESULTS_BUCKET}/team-a", True),
        (f"s3://{RESULTS_BUCKET}/team-b/<tileName>/<outputId>.<format>", False),
        (f"s3://{RESULTS_BUCKET}/team-a-evil/<tileName>/<outputId>.<format>", False),
        (f"s3://{RESULTS_BUCKET}/team-a/../team-b/<tileName>/<outputId>.<format>", False),
        (f"s3://{RESULTS_BUCKET}/<tileName>/<outputId>.<format>", False),
    ],
)
def test_an_allowed_prefix_confines_keys(prefixed_client: TestClient, redis_conn, path: str, allowed: bool) -> None:
    account = register(redis_conn, prefixed_client, "team-a")
    body = with_value(v1_body(), "output.defaultTilePath", path)
    if allowed:
        assert prefixed_client.post(V1, json=body, headers=account.headers).status_code == 201
    else:
        assert_refused(prefixed_client, V1, body, account.headers, "output.defaultTilePath", redis_conn)
