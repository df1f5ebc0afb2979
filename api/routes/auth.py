"""OAuth 2.0 client-credentials token endpoints (both paths the `sentinelhub` client may use)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote

import redis
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.auth import issue_token
from api.dependencies import get_redis, get_settings
from evalbatch.accounts import verify_client
from evalbatch.settings import Settings

TOKEN_PATHS = ("/oauth/token", "/auth/realms/main/protocol/openid-connect/token")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["auth"])


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    """An OAuth-style error response (RFC 6749 §5.2)."""
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="evalbatch"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(client id, secret) from an `Authorization: Basic` header, or None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


async def token(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    client: Annotated[redis.Redis, Depends(get_redis)],
) -> JSONResponse:
    """Exchange client credentials (form body or HTTP Basic) for a JWT access token."""
    form = await request.form()
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported")
    credentials = basic_credentials(request.headers.get("authorization", ""))
    if credentials is None:
        credentials = (str(form.get("client_id") or ""), str(form.get("client_secret") or ""))
    verified = await run_in_threadpool(verify_client, client, *credentials)
    if verified is None:
        return oauth_error(401, "invalid_client", "Invalid client credentials")
    return JSONResponse(issue_token(verified, settings), headers=NO_STORE)


for _path in TOKEN_PATHS:
    router.add_api_route(_path, token, methods=["POST"], summary="Issue an access token")
