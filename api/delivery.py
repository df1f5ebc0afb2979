"""Uploads to the user's delivery bucket made by the API: the JSON copy of a v2 request at create."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from api.errors import BadPayload
from evalbatch.objectstore import S3Credentials, put_bytes, s3_client
from evalbatch.settings import Settings

UPLOAD_ATTEMPTS = 2
UPLOAD_TIMEOUT_S = 20.0


def request_copy_url(root: str, request_id: str) -> str:
    """Where the JSON copy of a request goes: `<delivery root>request-<id>.json`."""
    return f"{root.rstrip('/')}/request-{request_id}.json"


def upload_request_copy(
    settings: Settings, root: str, request_id: str, body: dict[str, Any], secrets: dict[str, Any]
) -> str:
    """Upload the (secret-free) request body with the request's own keys (`{"s3": {...}}`) or the
    deployment's; raises BadPayload when the delivery location is not writable."""
    url = request_copy_url(root, request_id)
    creds = S3Credentials.from_settings(settings).with_secrets(secrets)
    s3 = s3_client(creds, attempts=UPLOAD_ATTEMPTS, timeout_s=UPLOAD_TIMEOUT_S)
    try:
        put_bytes(s3, url, json.dumps(body, indent=2).encode(), "application/json")
    except (BotoCoreError, ClientError) as exc:
        raise BadPayload.field("output.delivery.s3.url", f"cannot write to the delivery location {url}: {exc}") from exc
    return url
