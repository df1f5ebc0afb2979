"""OAuth token endpoints, bearer-token verification and per-account isolation."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from api_bodies import v1_body, v2_body
from api_support import SIGNING_KEY
from fastapi.testclient import TestClient
from support.api_accounts import Account

from evalbatch.states import TileStatus
from evalbatch.store import Store

V1_ACTIONS = ("analyse", "start", "cancel", "restartpartial")
TOKEN_PATHS = ["/oauth/token", "/auth/realms/main/protocol/openid-connect/token"]


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_token_from_form_credentials(client: TestClient, alice: Account, path: str) -> None:
    response = client.post(
        path,
        data={"grant_type": "client_credentials", "client_id": alice.client_id, "client_secret": alice.client_secret},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 120
    claims = _claims(body["access_token"])
    assert claims["sub"] == alice.account_id
    assert claims["azp"] == alice.client_id
    assert claims["exp"] - claims["iat"] == body["expires_in"]


def test_token_from_http_basic(client: TestClient, alice: Account) -> None:
    basic = base64.b64encode(f"{alice.client_id}:{alice.client_secret}".encode()).decode()
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    assert _claims(response.json()["access_token"])["azp"] == alice.client_id


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}, 401, "invalid_client"),
        ({"grant_type": "password", "client_id": "a", "client_secret": "b"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
    ],
)
def test_token_errors_are_oauth_style(client: TestClient, form: dict, status: int, error: str) -> None:
    response = client.post("/oauth/token", data=form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "access_token" not in response.json()


def test_wrong_secret_is_refused(client: TestClient, alice: Account) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": alice.client_id, "client_secret": "wrong"},
    )
    assert response.status_code == 401


def _token(account: Account, **overrides: object) -> str:
    now = int(time.time())
    claims = {"sub": account.account_id, "azp": account.client_id, "aud": "evalbatch", "iat": now, "exp": now + 600}
    claims.update(overrides)
    key = str(claims.pop("key", SIGNING_KEY))
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="HS256")


@pytest.mark.parametrize(
    "make_header",
    [
        lambda a: {},
        lambda a: {"Authorization": "Bearer"},
        lambda a: {"Authorization": "Bearer not.a.jwt"},
        lambda a: {"Authorization": f"Basic {a.client_secret}"},
        lambda a: {"Authorization": f"Bearer {_token(a, key='another-signing-key-of-sufficient-length')}"},
        lambda a: {"Authorization": f"Bearer {_token(a, exp=int(time.time()) - 5, iat=int(time.time()) - 700)}"},
        lambda a: {"Authorization": f"Bearer {_token(a, aud='another-service')}"},
        lambda a: {"Authorization": f"Bearer {_token(a, sub=None)}"},
    ],
    ids=["missing", "empty", "garbage", "basic", "bad-signature", "expired", "wrong-audience", "no-subject"],
)
def test_bad_tokens_get_401(client: TestClient, alice: Account, make_header) -> None:
    for path in ("/api/v1/batch/process", "/api/v2/batch/process", "/api/v1/batch/tilinggrids"):
        response = client.get(path, headers=make_header(alice))
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "COMMON_UNAUTHORIZED"


def test_a_hand_made_valid_token_is_accepted(client: TestClient, alice: Account) -> None:
    response = client.get("/api/v1/batch/process", headers={"Authorization": f"Bearer {_token(alice)}"})
    assert response.status_code == 200


def test_other_accounts_get_404_everywhere(client: TestClient, alice: Account, bob: Account) -> None:
    v1_id = client.post("/api/v1/batch/process", json=v1_body(), headers=alice.headers).json()["id"]
    v2_id = client.post("/api/v2/batch/process", json=v2_body(), headers=alice.headers).json()["id"]
    Store(client.app.state.redis).put_tiles(v1_id, [{"id": 7, "name": "N41E012", "requestId": v1_id}])
    calls = [
        ("GET", f"/api/v1/batch/process/{v1_id}", None),
        ("PUT", f"/api/v1/batch/process/{v1_id}", {"description": "mine now"}),
        ("DELETE", f"/api/v1/batch/process/{v1_id}", None),
        ("GET", f"/api/v1/batch/process/{v1_id}/tiles", None),
        ("GET", f"/api/v1/batch/process/{v1_id}/tiles/7", None),
        *[("POST", f"/api/v1/batch/process/{v1_id}/{a}", None) for a in V1_ACTIONS],
        ("GET", f"/api/v2/batch/process/{v2_id}", None),
        ("PUT", f"/api/v2/batch/process/{v2_id}", {"description": "mine now"}),
        *[("POST", f"/api/v2/batch/process/{v2_id}/{a}", None) for a in ("analyse", "start", "stop")],
        # a request is only visible through the API version that created it
        ("GET", f"/api/v2/batch/process/{v1_id}", None),
        ("GET", f"/api/v1/batch/process/{v2_id}", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=bob.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "COMMON_NOT_FOUND"
    for version in (1, 2):
        assert client.get(f"/api/v{version}/batch/process", headers=bob.headers).json()["data"] == []
    # nothing changed for the owner
    mine = client.get(f"/api/v1/batch/process/{v1_id}", headers=alice.headers).json()
    assert mine["status"] == "CREATED" and mine["description"] == "ndvi test"
    assert mine["tileStatusCounts"][TileStatus.PENDING] == 1
    task = client.get(f"/api/v2/batch/process/{v2_id}", headers=alice.headers).json()
    assert task["status"] == "CREATED" and task["request"]["description"] == "ndvi test v2"
