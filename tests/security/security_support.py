"""Helpers of the security tests: the test deployment's settings, accounts, tokens and a uvicorn server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import jsonschema
import jwt
from fastapi.openapi.utils import get_openapi
from support.api_accounts import TEST_S3_KEY, TEST_S3_SECRET, Account

from api.app import create_app
from api.openapi import load_openapi
from evalbatch.settings import Settings

REPO = Path(__file__).resolve().parents[2]
RESULTS_BUCKET = "results"
OTHER_BUCKET = "someone-elses-bucket"  # exists in the test S3, but is not an allowed output location
SIGNING_KEY = "security-tests-signing-key-of-sufficient-length"
# Limits small enough to hit with real bodies; the same values configure the in-process app and uvicorn.
LIMITS = {
    "max_body_bytes": 200_000,
    "max_evalscript_bytes": 20_000,
    "max_aoi_vertices": 500,
    "max_tiles_per_request": 50,
}
SERVER_START_S = 30.0


def deployment_values(redis_url: str, s3_endpoint: str) -> dict[str, object]:
    """Settings fields of the test deployment (a results bucket, the other bucket not allowed)."""
    return {
        "redis_url": redis_url,
        "s3_endpoint_url": s3_endpoint,
        "s3_access_key": TEST_S3_KEY,
        "s3_secret_key": TEST_S3_SECRET,
        "signing_key": SIGNING_KEY,
        "results_bucket": RESULTS_BUCKET,
        "allowed_output_buckets": [RESULTS_BUCKET],
        **LIMITS,
    }


def deployment_settings(values: dict[str, object]) -> Settings:
    """Settings for an in-process app."""
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def deployment_env(values: dict[str, object]) -> dict[str, str]:
    """The same settings as EVALBATCH_* variables (lists as JSON) for a server process."""
    return {
        f"EVALBATCH_{name.upper()}": json.dumps(value) if isinstance(value, list) else str(value)
        for name, value in values.items()
    }


def make_token(account: Account, key: str = SIGNING_KEY, algorithm: str = "HS256", **claims: object) -> str:
    """A token for `account` signed with `key`; `claims` override (None removes) the valid defaults."""
    now = int(time.time())
    payload: dict[str, object] = {
        "sub": account.account_id,
        "azp": account.client_id,
        "aud": "evalbatch",
        "iat": now,
        "exp": now + 600,
    }
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm)


LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {"uvicorn": {"level": "INFO"}, "uvicorn.access": {"level": "INFO"}},
}


@dataclass
class ApiServer:
    """A uvicorn process serving the app, logging everything at INFO (access log included) to `log_path`."""

    url: str
    log_path: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        """Everything the server logged so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_api_server(env: dict[str, str], port: int, workdir: Path) -> ApiServer:
    """`uvicorn api.app:create_app --factory` on 127.0.0.1:`port`, configured by `env`; waits for /health."""
    log_config = workdir / "log-config.json"
    log_config.write_text(json.dumps(LOG_CONFIG))
    log_path = workdir / "api.log"
    command = [
        sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), "--log-config", str(log_config),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env={**os.environ, **env}, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    server = ApiServer(f"http://127.0.0.1:{port}", log_path, process)
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}: {server.log_text()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("uvicorn did not become healthy in time")


def tile_records(request_id: str, bbox: list[float], grid_id: int, resolution: float) -> list[dict[str, object]]:
    """Tiles of `bbox` as the analysis stores them (v1 fields; cost left at 0), computed by the tiler."""
    from tiler import parse_bounds, tiles_for_aoi

    aoi = parse_bounds({"bbox": bbox})
    return [
        {
            "id": tile.id,
            "name": tile.name,
            "requestId": request_id,
            "origin": tile.origin_geojson(),
            "geometry": tile.footprint_geojson(),
            "cost": 0.0,
        }
        for tile in tiles_for_aoi(aoi, grid_id, resolution)
    ]


def api_routes() -> list[tuple[str, str]]:
    """(method, path) of every /api/ endpoint of the app, from the route table (FastAPI's own OpenAPI
    generation walks the included routers; the served document is the contract file instead)."""
    app = create_app(Settings(_env_file=None))
    paths = get_openapi(title="routes", version="0", routes=app.routes)["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() if path.startswith("/api/") for method in item)


ROUTES = api_routes()


def route_id(route: tuple[str, str]) -> str:
    """A readable test id: `METHOD /path`."""
    return f"{route[0]} {route[1]}"


def assert_error(response, status: int, code: str) -> None:
    """The response is `status` with an error body of the documented format and `code`."""
    assert response.status_code == status, response.text
    document = load_openapi()
    schema = {"$ref": "#/components/schemas/Error", "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(response.json())
    assert response.json()["error"]["code"] == code
