"""A project-local PostgreSQL cluster (Debian postgresql-15 + PostGIS) holding the pgstac database.

The cluster lives in `<home>/postgres/data`, listens on 127.0.0.1 only (no Unix socket) and has one superuser,
`evalbatch`, with a generated password (scram-sha-256), so `pypgstac migrate` may create its extensions.
PostgreSQL refuses to run as root: when we are root, initdb and pg_ctl run as the `postgres` system user and the
cluster directory belongs to it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ops import processes
from ops.ports import HOST
from ops.service_base import (
    HEALTH_TIMEOUT_S,
    PGSTAC_DATABASE,
    POSTGRES_SUPERUSER,
    ManagedService,
    ServiceError,
)

DEBIAN_POSTGRES_ROOT = Path("/usr/lib/postgresql")
DEBIAN_POSTGRES_SHARE = Path("/usr/share/postgresql")
SYSTEM_USER_WHEN_ROOT = "postgres"
MAINTENANCE_DATABASE = "postgres"


def postgres_bindir() -> Path | None:
    """Directory of initdb/pg_ctl: the newest Debian version with PostGIS, else whatever is on PATH."""
    versions = sorted((int(p.name) for p in DEBIAN_POSTGRES_ROOT.glob("*") if p.name.isdigit()), reverse=True)
    with_postgis = [v for v in versions if (DEBIAN_POSTGRES_SHARE / str(v) / "extension/postgis.control").exists()]
    for version in with_postgis + versions:
        bindir = DEBIAN_POSTGRES_ROOT / str(version) / "bin"
        if (bindir / "pg_ctl").exists():
            return bindir
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def running_as_root() -> bool:
    return os.geteuid() == 0


class PostgresService(ManagedService):
    """The local cluster; after start it ensures the pgstac database exists and is migrated."""

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: does not wait for clients to disconnect
    port_hint = "choose another port (`evalbatch up --pg-port N`)"

    @property
    def cluster_dir(self) -> Path:
        return self.context.home / "postgres"

    @property
    def data_dir(self) -> Path:
        return self.cluster_dir / "data"

    def ports(self) -> list[int]:
        return [self.context.ports.postgres]

    def dsn(self, database: str = PGSTAC_DATABASE) -> str:
        """Connection string of a database of the cluster, as its superuser."""
        password = self.context.credentials.postgres_password
        return f"postgresql://{POSTGRES_SUPERUSER}:{password}@{HOST}:{self.ports()[0]}/{database}"

    def check_installed(self) -> None:
        if postgres_bindir() is None:
            raise ServiceError(
                self.name,
                "PostgreSQL (initdb, pg_ctl) is not installed",
                "run scripts/bootstrap.sh (installs postgresql and postgresql-15-postgis-3)",
            )
        if running_as_root():
            try:
                pwd.getpwnam(SYSTEM_USER_WHEN_ROOT)
            except KeyError:
                raise ServiceError(
                    self.name,
                    f"running as root needs the `{SYSTEM_USER_WHEN_ROOT}` system user, which does not exist",
                    "install the Debian postgresql package (scripts/bootstrap.sh) or run as a normal user",
                ) from None

    def _as_owner(self, command: list[str]) -> list[str]:
        """`command`, run as the cluster owner (the postgres user when we are root)."""
        if running_as_root():
            return ["runuser", "-u", SYSTEM_USER_WHEN_ROOT, "--", *command]
        return command

    def _give_to_owner(self, path: Path) -> None:
        if running_as_root():
            shutil.chown(path, SYSTEM_USER_WHEN_ROOT, SYSTEM_USER_WHEN_ROOT)

    def _run_as_owner(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._as_owner(command), capture_output=True, text=True, check=False, env=self.base_environment()
        )

    def prepare(self) -> None:
        self.cluster_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._give_to_owner(self.cluster_dir)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        self.logfile.touch()
        self._give_to_owner(self.logfile)
        if running_as_root() and self._run_as_owner(["test", "-w", str(self.cluster_dir)]).returncode != 0:
            raise ServiceError(
                self.name,
                f"the `{SYSTEM_USER_WHEN_ROOT}` user cannot write {self.cluster_dir}",
                "make its parent directories traversable (chmod o+x) or set EVALBATCH_HOME elsewhere",
            )
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()

    def _initdb(self) -> None:
        password_file = self.cluster_dir / "initdb-password"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(self.context.credentials.postgres_password + "\n")
        self._give_to_owner(password_file)
        try:
            result = self._run_as_owner(
                [
                    str(postgres_bindir() / "initdb"),
                    f"--pgdata={self.data_dir}",
                    f"--username={POSTGRES_SUPERUSER}",
                    f"--pwfile={password_file}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                ]
            )
        finally:
            password_file.unlink(missing_ok=True)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ServiceError(self.name, f"initdb failed ({last})", f"remove {self.data_dir} and retry")

    def launch(self) -> processes.ProcessRecord:
        server_options = f"-c listen_addresses={HOST} -c port={self.ports()[0]} -c unix_socket_directories=''"
        result = self._run_as_owner(
            [
                str(postgres_bindir() / "pg_ctl"),
                "start",
                f"--pgdata={self.data_dir}",
                f"--log={self.logfile}",
                f"--options={server_options}",
                "--wait",
                f"--timeout={self.start_timeout_s:.0f}",
            ]
        )
        if result.returncode != 0:
            last = processes.last_log_line(self.logfile) or result.stderr.strip()
            raise ServiceError(self.name, f"pg_ctl start failed (last log line: {last!r})", f"see {self.logfile}")
        postmaster_pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        return processes.record_of(postmaster_pid)

    def healthy(self) -> bool:
        try:
            with psycopg.connect(self.dsn(MAINTENANCE_DATABASE), connect_timeout=HEALTH_TIMEOUT_S) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def after_start(self) -> None:
        with psycopg.connect(self.dsn(MAINTENANCE_DATABASE), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PGSTAC_DATABASE,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PGSTAC_DATABASE)))
        self.migrate()

    def migrate(self) -> str:
        """Install or upgrade pgstac in the pgstac database (a no-op when current); returns its version."""
        from pypgstac.db import PgstacDB
        from pypgstac.migrate import Migrate

        database = PgstacDB(dsn=self.dsn())
        try:
            return str(Migrate(database).run_migration())
        finally:
            database.close()

    def info(self) -> dict[str, Any]:
        return {"port": self.ports()[0], "dsn": self.dsn()}
