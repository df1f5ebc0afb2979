"""Raw create bodies before validation and echo: nulls dropped, alias keys renamed, secrets split off."""

from __future__ import annotations

import copy
from typing import Any

from api.models.common import CRS84

SECRET_KEYS = frozenset({"secretAccessKey", "accessKey", "credentials"})
KEY_ALIASES = {"instance_type": "instanceType", "arrayParameter": "arrayParameters"}


def strip_nulls(value: Any) -> Any:
    """A copy of a JSON value without `null` object members (a null key means an absent key)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def rename_aliases(body: dict[str, Any]) -> dict[str, Any]:
    """Rename the spellings some clients use (`instance_type`, `arrayParameter`) to the canonical keys."""
    result = dict(body)
    _rename(result)
    output = result.get("output")
    if isinstance(output, dict):
        result["output"] = dict(output)
        _rename(result["output"])
    return result


def _rename(obj: dict[str, Any]) -> None:
    for alias, canonical in KEY_ALIASES.items():
        if alias in obj:
            value = obj.pop(alias)
            obj.setdefault(canonical, value)


def split_secrets(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(body without secret keys, {dotted path of the object: {secret key: value}})."""
    secrets: dict[str, Any] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            kept = {}
            for key, item in value.items():
                if key in SECRET_KEYS:
                    secrets.setdefault(path, {})[key] = item
                else:
                    kept[key] = walk(item, f"{path}.{key}" if path else key)
            return kept
        if isinstance(value, list):
            return [walk(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return value

    return walk(body, ""), secrets


def echo_defaults(body: dict[str, Any], grid_key: str) -> dict[str, Any]:
    """The echo of a create body: `bounds.properties.crs` and the grid buffers always present."""
    echo = copy.deepcopy(body)
    bounds = echo.get("processRequest", {}).get("input", {}).get("bounds")
    if isinstance(bounds, dict):
        properties = bounds.setdefault("properties", {})
        if isinstance(properties, dict):
            properties.setdefault("crs", CRS84)
    grid = echo.get(grid_key)
    if isinstance(grid, dict):
        grid.setdefault("bufferX", 0)
        grid.setdefault("bufferY", 0)
    return echo
