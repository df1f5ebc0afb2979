"""Helpers of the API tests shared by conftest.py and the test modules (accounts, ports, S3, servers)."""

from __future__ import annotations

from dataclasses import dataclass

RESULTS_BUCKET = "results"
SIGNING_KEY = "api-tests-signing-key-of-sufficient-length"


@dataclass
class LiveServer:
    """A uvicorn process serving the app."""

    url: str
    env: dict[str, str]
