"""openapi.yaml is the served contract: valid, identical to /openapi.json, and covering every route."""

from __future__ import annotations

import re

import yaml
from api_bodies import v1_body, v2_body
from api_contract import assert_matches
from fastapi.openapi.utils import get_openapi
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from support.api_accounts import Account

from api.openapi import OPENAPI_FILE

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def _operations(paths: dict) -> set[tuple[str, str]]:
    """(path with parameters renamed to {}, method) of every operation."""
    return {
        (re.sub(r"\{[^}]+\}", "{}", path), method)
        for path, item in paths.items()
        for method in item
        if method in HTTP_METHODS
    }


def test_file_is_a_valid_openapi_document() -> None:
    validate(yaml.safe_load(OPENAPI_FILE.read_text()))


def test_served_document_is_the_file(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == yaml.safe_load(OPENAPI_FILE.read_text())


def test_file_describes_exactly_the_routes_the_app_serves(client: TestClient) -> None:
    generated = get_openapi(title="routes", version="0", routes=client.app.routes)
    documented = yaml.safe_load(OPENAPI_FILE.read_text())
    assert _operations(documented["paths"]) == _operations(generated["paths"])


def test_responses_match_the_documented_schemas(client: TestClient, alice: Account) -> None:
    v1 = client.post("/api/v1/batch/process", json=v1_body(), headers=alice.headers)
    assert v1.status_code == 201
    assert_matches("V1Request", v1.json())
    assert_matches("V1RequestList", client.get("/api/v1/batch/process", headers=alice.headers).json())
    v2 = client.post("/api/v2/batch/process", json=v2_body(), headers=alice.headers)
    assert v2.status_code == 201
    assert_matches("V2Task", v2.json())
    assert_matches("V2TaskList", client.get("/api/v2/batch/process", headers=alice.headers).json())
    assert_matches("TilingGridList", client.get("/api/v2/batch/tilinggrids", headers=alice.headers).json())
    assert_matches("TilingGrid", client.get("/api/v1/batch/tilinggrids/0", headers=alice.headers).json())
    bad = client.post("/api/v1/batch/process", json={"processRequest": {}}, headers=alice.headers)
    assert bad.status_code == 400
    assert_matches("Error", bad.json())
    token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": alice.client_id, "client_secret": alice.client_secret},
    )
    assert_matches("Token", token.json())
