"""Writing the archive's COGs to an S3-compatible store (path-style, endpoint from the settings)."""

from __future__ import annotations

import hashlib

from botocore.client import BaseClient


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
