"""Legacy V1 simple scripts (spec §9.1): free band variables and a top-level ``return``."""

from __future__ import annotations

import re
from collections.abc import Sequence

V1_FUNCTION_NAME = "__evalbatch_v1main"
# The parameters a V1 body is called with: the Sentinel-2 L1C/L2A band names (spec §7).
DEFAULT_V1_BANDS: tuple[str, ...] = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
    "AOT", "SCL", "SNW", "CLD", "CLM", "CLP", "WVP", "dataMask",
)
V1_MOSAICKING = "SIMPLE"
# V1/V2 setup(ds) scripts read samples[0], samples[1], ...: one sample per source tile.
LEGACY_SETUP_MOSAICKING = "TILE"
_ILLEGAL_RETURN = "Illegal return statement"


def is_top_level_return(message: str) -> bool:
    """True for the SyntaxError V8 raises on a top-level ``return`` (the V1 signature)."""
    return _ILLEGAL_RETURN in message


def wrap_v1_body(source: str, params: Sequence[str]) -> tuple[str, int]:
    """Wrap a V1 body as ``function __evalbatch_v1main(<bands>) { <body> }``.

    Equivalent to ``new Function(...bands, body)`` but written on the body's first line, so line
    numbers in errors stay those of the user's script. Returns (source, columns added to line 1).
    """
    prefix = f"function {V1_FUNCTION_NAME}({', '.join(params)}) {{ "
    return f"{prefix}{source}\n}}", len(prefix)


def mentioned_bands(source: str, params: Sequence[str]) -> list[str]:
    """The band parameters the body refers to as identifiers, in parameter order."""
    return [band for band in params if re.search(rf"(?<![\w$.]){re.escape(band)}(?![\w$])", source)]
