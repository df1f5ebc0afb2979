"""S3 access for the workers: boto3 clients for writing results and the GDAL environment for reading COGs.

The endpoint and keys come from the settings, unless a v2 request brought its own delivery credentials
(`store.get_secrets`), which then apply to the results of that request only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
import rasterio
from botocore.config import Config
from botocore.exceptions import ClientError
from rasterio.session import AWSSession

from evalbatch.settings import Settings
from evalbatch.spec import split_s3_url

GDAL_OPTIONS: dict[str, str | int] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "AWS_VIRTUAL_HOSTING": "FALSE",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    # Bounded memory whatever the number of open scenes: no per-file VSI cache (it is per handle and a
    # tile keeps one handle per scene and band open), a fixed block cache shared by all of them.
    "VSI_CACHE": "FALSE",
    "GDAL_CACHEMAX": 256,  # MB
}


@dataclass(frozen=True)
class S3Credentials:
    """Where and as whom to talk S3."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Credentials:
        """The deployment's own S3 endpoint and keys."""
        return cls(settings.s3_endpoint_url, settings.s3_access_key, settings.s3_secret_key, settings.s3_region)

    def with_secrets(self, secrets: dict[str, Any]) -> S3Credentials:
        """These credentials with the keys a v2 request gave for its delivery bucket (if any)."""
        s3 = secrets.get("s3", secrets)
        access = s3.get("accessKey") or s3.get("access_key")
        secret = s3.get("secretAccessKey") or s3.get("secret_key")
        if not access or not secret:
            return self
        return S3Credentials(self.endpoint_url, access, secret, s3.get("region") or self.region)


def s3_client(creds: S3Credentials) -> Any:
    """A path-style boto3 S3 client."""
    return boto3.client(
        "s3",
        endpoint_url=creds.endpoint_url,
        aws_access_key_id=creds.access_key or None,
        aws_secret_access_key=creds.secret_key or None,
        region_name=creds.region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
    )


def rasterio_env(creds: S3Credentials) -> rasterio.Env:
    """A `rasterio.Env` that reads `s3://` / `/vsis3/` paths from the given endpoint."""
    endpoint = urlparse(creds.endpoint_url)
    session = AWSSession(
        aws_access_key_id=creds.access_key or None,
        aws_secret_access_key=creds.secret_key or None,
        region_name=creds.region,
        endpoint_url=endpoint.netloc or creds.endpoint_url,
    )
    https = "YES" if endpoint.scheme == "https" else "NO"
    return rasterio.Env(session=session, AWS_HTTPS=https, **GDAL_OPTIONS)


def gdal_path(href: str) -> str:
    """The GDAL path of an asset href (`s3://b/k` -> `/vsis3/b/k`; http(s) via `/vsicurl/`)."""
    if href.startswith("s3://"):
        return "/vsis3/" + href[len("s3://") :]
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    return href


def object_exists(client: Any, url: str) -> bool:
    """Whether the object `s3://bucket/key` exists."""
    bucket, key = split_s3_url(url)
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def upload_file(client: Any, path: str, url: str, content_type: str) -> None:
    """Upload a complete local file to `s3://bucket/key` (the object appears only once complete)."""
    bucket, key = split_s3_url(url)
    client.upload_file(path, bucket, key, ExtraArgs={"ContentType": content_type})


def put_bytes(client: Any, url: str, body: bytes, content_type: str) -> None:
    """Write a small object."""
    bucket, key = split_s3_url(url)
    client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
