"""Checks of responses against the schemas of openapi.yaml."""

from __future__ import annotations

from typing import Any

import jsonschema

from api.openapi import load_openapi


def assert_matches(schema_name: str, instance: Any) -> None:
    """Fail unless `instance` validates against `#/components/schemas/<schema_name>` of openapi.yaml."""
    document = load_openapi()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)
