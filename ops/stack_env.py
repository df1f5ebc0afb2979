"""The description of a stack (URLs, keys, buckets, ports) and the EVALBATCH_* environment derived from it."""

from __future__ import annotations

from typing import Any

from evalbatch.settings import Settings
from ops.service_base import StackContext, setting_default

ENV_PREFIX: str = Settings.model_config.get("env_prefix", "")


def describe(context: StackContext) -> dict[str, Any]:
    """What clients need to reach a stack, without health information (cheap: no network)."""
    credentials = context.credentials
    return {
        "home": str(context.home),
        "ports": context.ports.as_dict(),
        "urls": {
            "api": context.api_url,
            "stac": context.stac_url,
            "s3": context.s3_endpoint_url,
            "redis": context.redis_url,
        },
        "s3": {
            "endpoint_url": context.s3_endpoint_url,
            "access_key": credentials.s3_access_key,
            "secret_key": credentials.s3_secret_key,
            "region": setting_default("s3_region"),
            "buckets": {
                "archive": setting_default("archive_bucket"),
                "results": setting_default("results_bucket"),
            },
        },
        "signing_key": credentials.signing_key,
    }


def settings_values(status: dict[str, Any]) -> dict[str, str]:
    """Settings field -> value for a stack, from `describe()` or `LocalStack.status()` output."""
    s3 = status["s3"]
    return {
        "home": status["home"],
        "redis_url": status["urls"]["redis"],
        "s3_endpoint_url": s3["endpoint_url"],
        "s3_access_key": s3["access_key"],
        "s3_secret_key": s3["secret_key"],
        "s3_region": s3["region"],
        "archive_bucket": s3["buckets"]["archive"],
        "results_bucket": s3["buckets"]["results"],
        "stac_url": status["urls"]["stac"],
        "public_url": status["urls"]["api"],
        "signing_key": status["signing_key"],
    }


def env_for(status: dict[str, Any]) -> dict[str, str]:
    """The EVALBATCH_* environment variables that point a process (API, worker, CLI) at this stack."""
    return {f"{ENV_PREFIX}{name}".upper(): value for name, value in settings_values(status).items()}


def settings_for(status: dict[str, Any]) -> Settings:
    """evalbatch Settings for this stack."""
    return Settings(**settings_values(status))
