"""S3 access for every component: credentials, the one boto3 client factory, the GDAL environment for COGs.

The settings follow infrastructure.md §2.3 (verified against SeaweedFS and moto): path-style addressing,
`AWSSession(endpoint_url="host:port")` without scheme, `AWS_HTTPS=NO` for a plain-HTTP endpoint and no
directory listing on open. Swap the endpoint for AWS, Ceph or MinIO through the settings alone. A v2 request
may bring its own delivery keys (`S3Credentials.with_secrets`); they apply to that request's results only.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from evalbatch.settings import Settings
from evalbatch.spec import split_s3_url

DEFAULT_ATTEMPTS = 5
GDAL_OPTIONS: dict[str, str | int] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "AWS_VIRTUAL_HOSTING": "FALSE",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE": "YES",
    # Bounded memory whatever the number of open scenes: no per-file VSI cache (it is per handle and a
    # tile keeps one handle per scene and band open), a fixed block cache shared by all of them.
    "VSI_CACHE": "FALSE",
    "GDAL_CACHEMAX": 256,  # MB
}
_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


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


def s3_client(creds: S3Credentials, *, attempts: int = DEFAULT_ATTEMPTS, timeout_s: float | None = None) -> Any:
    """A path-style boto3 S3 client; unsigned when no keys are configured (anonymous local stores)."""
    signed = bool(creds.access_key and creds.secret_key)
    config = Config(
        s3={"addressing_style": "path"},
        retries={"total_max_attempts": attempts, "mode": "standard"},
        signature_version=None if signed else UNSIGNED,
        **({"connect_timeout": timeout_s, "read_timeout": timeout_s} if timeout_s else {}),
    )
    return boto3.client(
        "s3",
        endpoint_url=creds.endpoint_url,
        aws_access_key_id=creds.access_key if signed else None,
        aws_secret_access_key=creds.secret_key if signed else None,
        region_name=creds.region,
        config=config,
    )


@lru_cache(maxsize=8)  # the deployment's keys and a few requests' own delivery keys
def shared_s3_client(creds: S3Credentials) -> Any:
    """The S3 client of `creds`, created once per process (boto3 clients are thread-safe)."""
    return s3_client(creds)


@lru_cache(maxsize=8)
def rasterio_session(creds: S3Credentials) -> Any:
    """The rasterio `AWSSession` of `creds`, built once per process (it creates a boto3 session: tens of ms)."""
    from rasterio.session import AWSSession

    endpoint = urlparse(creds.endpoint_url)
    return AWSSession(
        aws_access_key_id=creds.access_key or None,
        aws_secret_access_key=creds.secret_key or None,
        region_name=creds.region,
        endpoint_url=endpoint.netloc or creds.endpoint_url,
    )


def rasterio_env(creds: S3Credentials, **options: Any) -> AbstractContextManager[Any]:
    """A `rasterio.Env` that reads and writes `/vsis3/` paths on the given endpoint; use it around every open."""
    import rasterio

    https = "YES" if urlparse(creds.endpoint_url).scheme == "https" else "NO"
    return rasterio.Env(session=rasterio_session(creds), AWS_HTTPS=https, **{**GDAL_OPTIONS, **options})


def vsi_path(url: str) -> str:
    """The GDAL path of an `s3://` or `http(s)://` URL (`/vsis3/...` or `/vsicurl/...`); local paths unchanged."""
    if url.startswith("s3://"):
        return "/vsis3/" + url[len("s3://") :]
    if url.startswith(("http://", "https://")):
        return "/vsicurl/" + url
    return url


def object_exists(client: Any, url: str) -> bool:
    """Whether the object `s3://bucket/key` exists."""
    bucket, key = split_s3_url(url)
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
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


def ensure_bucket(client: Any, bucket: str) -> None:
    """Create `bucket` unless it exists."""
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _MISSING:
            raise
        client.create_bucket(Bucket=bucket)
