"""Settings shared by the API, the workers and the CLI, read from `EVALBATCH_*` environment variables.

`evalbatch up` writes the values of the local stack into `$EVALBATCH_HOME/services.json` and passes them to
the processes it starts as environment variables, so every process sees the same configuration. Workers on
other machines need only `EVALBATCH_REDIS_URL`, the S3 settings and `EVALBATCH_STAC_URL`.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SIGNING_KEY = "evalbatch-development-signing-key-change-me"


class Settings(BaseSettings):
    """Configuration of one evalbatch deployment."""

    model_config = SettingsConfigDict(env_prefix="EVALBATCH_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".evalbatch"), description="Data, logs, pid files and credentials")
    redis_url: str = "redis://127.0.0.1:6379/0"

    s3_endpoint_url: str = "http://127.0.0.1:8333"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    archive_bucket: str = "archive"
    results_bucket: str = "results"
    # Where output path templates may write: `bucket` or `bucket/prefix` entries (JSON list in the environment).
    allowed_output_buckets: list[str] = Field(default_factory=list, description="Default: [results_bucket]")

    stac_url: str = "http://127.0.0.1:8082"
    archive_collection: str = "sentinel-2-l2a"

    public_url: str = "http://127.0.0.1:8000"
    # uvicorn worker processes of the API (`--workers`): one per core of the 2-core reference machine
    api_processes: int = Field(default=2, ge=1)
    signing_key: str = DEVELOPMENT_SIGNING_KEY
    token_lifetime_s: int = 3600
    token_audience: str = "evalbatch"

    max_tiles_per_request: int = 100_000
    max_body_bytes: int = 4 * 1024 * 1024
    max_evalscript_bytes: int = 1024 * 1024
    max_aoi_vertices: int = 100_000
    rate_limit_per_minute: int = 0  # 0 disables per-account rate limiting

    tile_timeout_s: int = 1800
    tile_retries: int = 2
    # small tiles share one rq job (workers.batching): estimated seconds of work per job (0: one tile per job)
    # and tiles per job at most
    tile_batch_seconds: float = Field(default=2.0, ge=0)
    tile_batch_max: int = Field(default=32, ge=1)
    worker_count: int = 2
    worker_memory_limit_bytes: int = 6 * 1024**3

    @model_validator(mode="after")
    def _default_output_buckets(self) -> Settings:
        if not self.allowed_output_buckets:
            self.allowed_output_buckets = [self.results_bucket]
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; warns once while the development signing key is in use."""
    settings = Settings()
    if settings.signing_key == DEVELOPMENT_SIGNING_KEY:
        warnings.warn(
            "EVALBATCH_SIGNING_KEY is the development default; set a secret key in production",
            stacklevel=2,
        )
    return settings
