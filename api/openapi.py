"""The API contract: `openapi.yaml` at the repository root, served as the app's OpenAPI document."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"


@lru_cache(maxsize=1)
def load_openapi(path: Path = OPENAPI_FILE) -> dict[str, Any]:
    """The parsed `openapi.yaml`."""
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)
