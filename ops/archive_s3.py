"""Writing the archive's COGs to an S3-compatible store (path-style, endpoint from the settings)."""

from __future__ import annotations

import hashlib

import boto3
from botocore import UNSIGNED
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from evalbatch.settings import Settings


def s3_client(settings: Settings) -> BaseClient:
    """A boto3 S3 client for the configured endpoint; unsigned when no keys are configured."""
    signing: dict = {}
    if settings.s3_access_key and settings.s3_secret_key:
        signing = {"aws_access_key_id": settings.s3_access_key, "aws_secret_access_key": settings.s3_secret_key}
    config = Config(s3={"addressing_style": "path"}, signature_version=None if signing else UNSIGNED)
    return boto3.client(
        "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region, config=config, **signing
    )


def ensure_bucket(client: BaseClient, bucket: str) -> None:
    """Create `bucket` unless it exists."""
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
            raise
        client.create_bucket(Bucket=bucket)


def existing_etags(client: BaseClient, bucket: str, prefix: str) -> dict[str, str]:
    """ETag (without quotes) of every object under `prefix`."""
    etags: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            etags[entry["Key"]] = entry["ETag"].strip('"')
    return etags


def put_unless_identical(client: BaseClient, bucket: str, key: str, data: bytes, etags: dict[str, str]) -> bool:
    """Upload `data` unless an object with the same MD5 ETag is already at `key`; True if uploaded."""
    if etags.get(key) == hashlib.md5(data, usedforsecurity=False).hexdigest():
        return False
    client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="image/tiff")
    return True
