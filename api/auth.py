"""Access tokens: JWT (HS256) issued to OAuth clients and verified on every batch endpoint."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from fastapi import Request

from api.errors import Unauthorized
from evalbatch.accounts import Client
from evalbatch.settings import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "azp", "exp", "iat", "aud"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account that owns requests and the OAuth client acting for it."""

    account_id: str
    client_id: str


def issue_token(client: Client, settings: Settings, now: float | None = None) -> dict[str, object]:
    """The OAuth token response for an authenticated client (batch-api.md §3.1)."""
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": client.account_id,
        "azp": client.client_id,
        "aud": settings.token_audience,
        "iat": issued,
        "exp": issued + settings.token_lifetime_s,
        "iss": settings.public_url,
    }
    token = jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM)
    return {"access_token": token, "token_type": "Bearer", "expires_in": settings.token_lifetime_s}


def verify_token(token: str, settings: Settings) -> Principal:
    """The principal of a valid token; raises Unauthorized for a bad signature, expiry or audience."""
    try:
        claims = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[ALGORITHM],
            audience=settings.token_audience,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The access token has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized("The access token is not meant for this service") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid access token") from exc
    return Principal(account_id=str(claims["sub"]), client_id=str(claims["azp"]))


def bearer_token(request: Request) -> str:
    """The token of the `Authorization: Bearer ...` header; raises Unauthorized when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token in the Authorization header")
    return token.strip()
