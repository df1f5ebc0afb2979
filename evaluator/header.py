"""Version header detection (spec §1.1): a tolerant search over the whole script."""

from __future__ import annotations

import re

VERSION_HEADER = re.compile(r"^\s*//\s*VERSION\s*=\s*(\d+)", re.MULTILINE | re.IGNORECASE)


def declared_version(source: str) -> int | None:
    """The version number of the first ``//VERSION=n`` header anywhere in the script, else None."""
    match = VERSION_HEADER.search(source)
    return int(match.group(1)) if match else None
