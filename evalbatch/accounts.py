"""OAuth clients and the accounts they belong to; client secrets are stored salted and hashed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

import redis

from evalbatch import keys

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class Client:
    """An OAuth client: its id, the account it acts for and a display name."""

    client_id: str
    account_id: str
    name: str


def hash_secret(secret: str, salt: bytes) -> str:
    """The scrypt hash of a client secret (hex)."""
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT).hex()


def create_client(
    client: redis.Redis, name: str = "default", account_id: str | None = None
) -> dict[str, str]:
    """Create a client (and a new account unless `account_id` is given); the secret is shown only here."""
    client_id = str(uuid.uuid4())
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    account_id = account_id or str(uuid.uuid4())
    client.hset(
        keys.client(client_id),
        mapping={
            "account_id": account_id,
            "name": name,
            "salt": salt.hex(),
            "secret_hash": hash_secret(secret, salt),
        },
    )
    return {"client_id": client_id, "client_secret": secret, "account_id": account_id, "name": name}


def verify_client(client: redis.Redis, client_id: str, secret: str) -> Client | None:
    """The client when the secret matches, else None (constant-time comparison)."""
    if not client_id or not secret:
        return None
    record = client.hgetall(keys.client(client_id))
    if not record:
        return None
    fields = {k.decode(): v.decode() for k, v in record.items()}
    expected = fields["secret_hash"]
    if not hmac.compare_digest(hash_secret(secret, bytes.fromhex(fields["salt"])), expected):
        return None
    return Client(client_id=client_id, account_id=fields["account_id"], name=fields["name"])
