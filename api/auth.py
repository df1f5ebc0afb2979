"""Access tokens: JWT (HS256) issued to OAuth clients and verified on every batch endpoint."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import jwt
from fastapi import Request

from api.errors import Unauthorized
from evalbatch.accounts import Client
from evalbatch.settings import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "azp", "exp", "iat", "aud"]
VERIFIED_TOKEN_CACHE_SIZE = 4096  # tokens of the active clients; a few MB at most


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


def verify_token(token: str, settings: Settings, now: float | None = None) -> Principal:
    """The principal of a valid token; raises Unauthorized for a bad signature, expiry or audience.

    A token verified once is remembered (per process, keyed by token, signing key and audience): the verdict on
    its signature and claims cannot change, and expiry is checked on every call, so the cache answers exactly
    what a fresh verification would (tokens are not revocable before they expire). Rejected tokens are not
    cached. Being a pure function of its inputs, the cache is correct with any number of API processes."""
    principal, expires = _verified_claims(token, settings.signing_key, settings.token_audience)
    if (time.time() if now is None else now) >= expires:
        raise Unauthorized("The access token has expired")
    return principal


@lru_cache(maxsize=VERIFIED_TOKEN_CACHE_SIZE)
def _verified_claims(token: str, signing_key: str, audience: str) -> tuple[Principal, int]:
    """(principal, expiry) of a token whose signature, audience, expiry and claims are valid now."""
    try:
        claims = jwt.decode(
            token,
            signing_key,
            algorithms=[ALGORITHM],
            audience=audience,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The access token has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized("The access token is not meant for this service") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid access token") from exc
    return Principal(account_id=str(claims["sub"]), client_id=str(claims["azp"])), int(claims["exp"])


def bearer_token(request: Request) -> str:
    """The token of the `Authorization: Bearer ...` header; raises Unauthorized when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token in the Authorization header")
    return token.strip()
