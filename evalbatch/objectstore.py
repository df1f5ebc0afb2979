"""S3 access for every component: one boto3 client factory and one rasterio/GDAL environment.

The settings follow infrastructure.md §2.3 (verified against SeaweedFS and moto): path-style addressing,
`AWSSession(endpoint_url="host:port")` without scheme, `AWS_HTTPS=NO` for a plain-HTTP endpoint and no
directory listing on open. Swap the endpoint for AWS, Ceph or MinIO through the settings alone.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

from evalbatch.settings import Settings

GDAL_CLOUD_OPTIONS: dict[str, Any] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "AWS_VIRTUAL_HOSTING": "FALSE",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.json",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "VSI_CACHE": "TRUE",
    "CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE": "YES",
}


def s3_client(
    settings: Settings, access_key: str | None = None, secret_key: str | None = None, **config: Any
) -> Any:
    """A boto3 S3 client for the configured endpoint (or explicit credentials, e.g. from a v2 delivery)."""
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=access_key or settings.s3_access_key or None,
        aws_secret_access_key=secret_key or settings.s3_secret_key or None,
        region_name=settings.s3_region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}, **config),
    )


def gdal_options(settings: Settings) -> dict[str, Any]:
    """GDAL configuration options for reading and writing through `/vsis3/` on the configured endpoint."""
    endpoint = urlparse(settings.s3_endpoint_url)
    return {**GDAL_CLOUD_OPTIONS, "AWS_HTTPS": "YES" if endpoint.scheme == "https" else "NO"}


def rasterio_env(settings: Settings, **options: Any) -> AbstractContextManager[Any]:
    """A `rasterio.Env` with the S3 session and the cloud-read options; use it around every open."""
    import rasterio
    from rasterio.session import AWSSession

    endpoint = urlparse(settings.s3_endpoint_url)
    session = AWSSession(
        aws_access_key_id=settings.s3_access_key or None,
        aws_secret_access_key=settings.s3_secret_key or None,
        region_name=settings.s3_region,
        endpoint_url=endpoint.netloc,
    )
    return rasterio.Env(session=session, **{**gdal_options(settings), **options})


def vsi_path(url: str) -> str:
    """The GDAL path of an `s3://` or `http(s)://` URL (`/vsis3/...` or `/vsicurl/...`); local paths unchanged."""
    if url.startswith("s3://"):
        return "/vsis3/" + url[len("s3://") :]
    if url.startswith(("http://", "https://")):
        return "/vsicurl/" + url
    return url
