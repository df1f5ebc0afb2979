"""Secrets of a local stack, generated once and kept in `<home>/credentials.json` (mode 0600)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    """S3 key pair of the SeaweedFS identity, PostgreSQL superuser password, API token signing key."""

    s3_access_key: str
    s3_secret_key: str
    postgres_password: str
    signing_key: str

    @classmethod
    def generate(cls) -> Credentials:
        """Fresh random credentials."""
        return cls(
            s3_access_key="evalbatch" + secrets.token_hex(6),
            s3_secret_key=secrets.token_urlsafe(30),
            postgres_password=secrets.token_hex(16),
            signing_key=secrets.token_urlsafe(48),
        )


def load_or_create_credentials(home: Path) -> Credentials:
    """The stack's credentials; created (and written with mode 0600) on first use."""
    path = home / CREDENTIALS_FILE
    if path.exists():
        return Credentials(**json.loads(path.read_text()))
    credentials = Credentials.generate()
    home.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(credentials), handle, indent=2)
    return credentials
