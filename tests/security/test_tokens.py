"""Bearer tokens are verified on every batch endpoint: signature, algorithm, expiry, audience and shape."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from security_support import ROUTES, assert_error, make_token, route_id
from support.api_accounts import Account

from api.auth import issue_token
from evalbatch.accounts import Client

OTHER_KEY = "a-different-signing-key-of-sufficient-length"


def _swap_subject(token: str, subject: str) -> str:
    """The token with its payload's `sub` replaced, keeping the original signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = subject
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


BAD_AUTHORIZATIONS: dict[str, Callable[[Account, Account], str | None]] = {
    "missing": lambda a, b: None,
    "empty bearer": lambda a, b: "Bearer ",
    "malformed": lambda a, b: "Bearer not.a.jwt",
    "not bearer": lambda a, b: f"Basic {a.client_secret}",
    "wrong signature": lambda a, b: f"Bearer {make_token(a, key=OTHER_KEY)}",
    "payload forged": lambda a, b: f"Bearer {_swap_subject(make_token(a), b.account_id)}",
    "unsigned (alg none)": lambda a, b: f"Bearer {make_token(a, key='', algorithm='none')}",
    "other algorithm": lambda a, b: f"Bearer {make_token(a, algorithm='HS512')}",
    "expired": lambda a, b: f"Bearer {make_token(a, iat=int(time.time()) - 7200, exp=int(time.time()) - 60)}",
    "wrong audience": lambda a, b: f"Bearer {make_token(a, aud='another-service')}",
    "no audience": lambda a, b: f"Bearer {make_token(a, aud=None)}",
    "no expiry": lambda a, b: f"Bearer {make_token(a, exp=None)}",
    "no subject": lambda a, b: f"Bearer {make_token(a, sub=None)}",
}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 token
@pytest.mark.parametrize("kind", BAD_AUTHORIZATIONS)
def test_every_batch_endpoint_refuses_a_bad_token_with_401(
    client: TestClient, alice: Account, bob: Account, kind: str
) -> None:
    authorization = BAD_AUTHORIZATIONS[kind](alice, bob)
    headers = {"Authorization": authorization} if authorization is not None else {}
    for route in ROUTES:
        method, template = route
        path = template.replace("{request_id}", "00000000-0000-4000-8000-000000000000")
        path = path.replace("{tile_id}", "1").replace("{grid_id}", "0")
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401, route_id(route)
        assert_error(response, 401, "COMMON_UNAUTHORIZED")


def test_a_valid_token_made_the_same_way_is_accepted(client: TestClient, alice: Account, bob: Account) -> None:
    """Control for the refusals above: only the altered part makes a token invalid."""
    response = client.get("/api/v1/batch/process", headers={"Authorization": f"Bearer {make_token(alice)}"})
    assert response.status_code == 200


def test_issued_tokens_expire_after_the_configured_lifetime(client: TestClient, alice: Account) -> None:
    issued = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": alice.client_id, "client_secret": alice.client_secret},
    ).json()
    token = issued["access_token"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    settings = client.app.state.settings
    assert claims["exp"] - claims["iat"] == settings.token_lifetime_s == issued["expires_in"]
    assert claims["aud"] == settings.token_audience


def test_a_token_issued_by_the_api_stops_working_after_its_lifetime(client: TestClient, alice: Account) -> None:
    settings = client.app.state.settings
    owner = Client(client_id=alice.client_id, account_id=alice.account_id, name="alice")
    lifetime = settings.token_lifetime_s
    still_valid = issue_token(owner, settings, now=time.time() - lifetime + 120)["access_token"]
    expired = issue_token(owner, settings, now=time.time() - lifetime - 5)["access_token"]
    assert client.get("/api/v1/batch/process", headers={"Authorization": f"Bearer {still_valid}"}).status_code == 200
    response = client.get("/api/v1/batch/process", headers={"Authorization": f"Bearer {expired}"})
    assert_error(response, 401, "COMMON_UNAUTHORIZED")
    assert "expired" in response.json()["error"]["message"]
