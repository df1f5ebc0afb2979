"""HTTP services run by uvicorn with an app factory: stac-fastapi-pgstac and the evalbatch API."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any, ClassVar

import httpx

from evalbatch.settings import Settings
from ops import processes
from ops.ports import HOST
from ops.service_base import (
    HEALTH_TIMEOUT_S,
    PGSTAC_DATABASE,
    POSTGRES_SUPERUSER,
    ManagedService,
    ServiceError,
)
from ops.stack_env import describe, env_for


def module_missing(module: str) -> bool:
    """True when `module` cannot be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True


class UvicornService(ManagedService):
    """`python -m uvicorn <module>:<factory> --factory` on 127.0.0.1."""

    factory: ClassVar[str]
    health_path: ClassVar[str] = "/"
    missing_fix: ClassVar[str] = "run scripts/bootstrap.sh"

    @property
    def port(self) -> int:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def ports(self) -> list[int]:
        return [self.port]

    def environment(self) -> dict[str, str]:
        """Environment of the server process."""
        return self.base_environment()

    def check_installed(self) -> None:
        module = self.factory.split(":")[0]
        if module_missing(module):
            raise ServiceError(self.name, f"module {module} is not installed", self.missing_fix)

    def server_options(self) -> list[str]:
        """Extra uvicorn options of this service (process count...)."""
        return []

    def launch(self) -> processes.ProcessRecord:
        command = [
            sys.executable, "-m", "uvicorn", self.factory, "--factory",
            "--host", HOST, "--port", str(self.port), "--no-access-log", *self.server_options(),
        ]  # fmt: skip
        return processes.spawn(command, self.logfile, self.environment())

    def healthy(self) -> bool:
        try:
            response = httpx.get(self.url + self.health_path, timeout=HEALTH_TIMEOUT_S)
        except httpx.HTTPError:
            return False
        return response.status_code == httpx.codes.OK

    def info(self) -> dict[str, Any]:
        return {"port": self.port, "url": self.url}


class StacService(UvicornService):
    """stac-fastapi-pgstac over the local cluster, with the transactions extension enabled."""

    name = "stac"
    factory = "stac_fastapi.pgstac.app:create_app"
    port_hint = "choose another port (`evalbatch up --stac-port N`)"

    @property
    def port(self) -> int:
        return self.context.ports.stac

    def environment(self) -> dict[str, str]:
        env = self.base_environment()
        connection = {
            "HOST": HOST,
            "PORT": str(self.context.ports.postgres),
            "USER": POSTGRES_SUPERUSER,
            "PASSWORD": self.context.credentials.postgres_password,
            "DATABASE": PGSTAC_DATABASE,
        }
        env.update({f"PG{key}": value for key, value in connection.items()})
        env.update(
            {
                "POSTGRES_USER": POSTGRES_SUPERUSER,
                "POSTGRES_PASS": self.context.credentials.postgres_password,
                "POSTGRES_DBNAME": PGSTAC_DATABASE,
                "POSTGRES_HOST_READER": HOST,
                "POSTGRES_HOST_WRITER": HOST,
                "POSTGRES_PORT": str(self.context.ports.postgres),
                "ENABLE_TRANSACTIONS_EXTENSIONS": "true",
            }
        )
        return env


class ApiService(UvicornService):
    """The evalbatch API (`api.app:create_app`), configured through EVALBATCH_* variables."""

    name = "api"
    factory = "api.app:create_app"
    health_path = "/health"
    missing_fix = "the API package (api/app.py with create_app) is not written or installed yet"
    port_hint = "choose another port (`evalbatch up --port N`)"

    @property
    def port(self) -> int:
        return self.context.ports.api

    def environment(self) -> dict[str, str]:
        env = self.base_environment()
        env.update(env_for(describe(self.context)))
        return env

    def server_options(self) -> list[str]:
        """`--workers N` (EVALBATCH_API_PROCESSES): uvicorn then supervises N server processes on one socket.

        With uvloop and httptools installed uvicorn uses them (its `auto` loop and HTTP parser)."""
        count = Settings().api_processes
        return ["--workers", str(count)] if count > 1 else []
