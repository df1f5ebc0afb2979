"""Uploads to the user's delivery bucket made by the API: the JSON copy of a v2 request at create."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from api.errors import BadPayload
from evalbatch.settings import Settings
from evalbatch.spec import split_s3_url

S3_CONFIG = Config(
    s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=20, retries={"max_attempts": 2}
)


def request_copy_url(root: str, request_id: str) -> str:
    """Where the JSON copy of a request goes: `<delivery root>request-<id>.json`."""
    return f"{root.rstrip('/')}/request-{request_id}.json"


def upload_request_copy(
    settings: Settings, root: str, request_id: str, body: dict[str, Any], secrets: dict[str, Any]
) -> str:
    """Upload the (secret-free) request body with the request's own keys (`{"s3": {...}}`) or the
    deployment's; raises BadPayload when the delivery location is not writable."""
    credentials = secrets.get("s3", {})
    url = request_copy_url(root, request_id)
    bucket, key = split_s3_url(url)
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=credentials.get("accessKey") or settings.s3_access_key or None,
        aws_secret_access_key=credentials.get("secretAccessKey") or settings.s3_secret_key or None,
        region_name=settings.s3_region,
        config=S3_CONFIG,
    )
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body, indent=2).encode(), ContentType="application/json")
    except (BotoCoreError, ClientError) as exc:
        raise BadPayload.field("output.delivery.s3.url", f"cannot write to the delivery location {url}: {exc}") from exc
    return url
