"""Output path confinement: output templates may only write inside the locations the deployment allows.

An allowed location is `bucket` or `bucket/prefix` (`Settings.allowed_output_buckets`). Object keys are checked
after the placeholders are filled in, because `<outputId>` comes from the user too: no `.`/`..` segments, no
empty segments (a leading `/` or `//`) and no backslash, which object stores or HTTP path normalisation could
resolve to a key outside the allowed prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.errors import BadPayload
from evalbatch.spec import delivery_root, fill_template, has_placeholder, split_s3_url

SAMPLE_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
SAMPLE_TILE_NAME = "N00E000"
SAMPLE_TILE_ID = 0
SAMPLE_FORMAT = "tiff"
DOT_SEGMENTS = frozenset({".", ".."})


def key_problem(key: str) -> str | None:
    """Why an object key could leave its prefix, or None when it cannot."""
    if "\\" in key:
        return "must not contain a backslash"
    segments = key.split("/")
    if any(segment in DOT_SEGMENTS for segment in segments):
        return "must not contain '.' or '..' path segments"
    if "" in segments[:-1]:
        return "must not contain empty path segments (a leading '/' or '//')"
    return None


def is_allowed(bucket: str, key: str, allowed: Sequence[str]) -> bool:
    """Whether `s3://bucket/key` lies inside one of the `bucket` or `bucket/prefix` locations."""
    for location in allowed:
        allowed_bucket, _, prefix = location.partition("/")
        prefix = prefix.strip("/")
        if bucket == allowed_bucket and (not prefix or key.startswith(prefix + "/")):
            return True
    return False


def check_identifier(identifier: str, field: str) -> None:
    """Raise BadPayload unless an output identifier is usable as one path segment."""
    if "/" in identifier or "\\" in identifier or identifier in DOT_SEGMENTS:
        raise BadPayload.field(field, "an output identifier must not contain '/' or '\\' nor be '.' or '..'")


def check_output_template(template: str, field: str, identifiers: Sequence[str], allowed: Sequence[str]) -> None:
    """Raise BadPayload naming `field` when a filled-in template (for any of the identifiers), or the
    placeholder-free root where the request's own files go, is unsafe or outside the allowed locations."""
    bucket, _ = split_s3_url(template)
    if has_placeholder(bucket):
        raise BadPayload.field(field, "the bucket name must not contain placeholders")
    filled = [
        fill_template(template, SAMPLE_REQUEST_ID, SAMPLE_TILE_NAME, SAMPLE_TILE_ID, identifier, SAMPLE_FORMAT)
        for identifier in identifiers
    ]
    for url in [delivery_root(template), *filled]:
        _, key = split_s3_url(url)
        problem = key_problem(key)
        if problem is not None:
            raise BadPayload.field(field, f"the object key {problem}")
        if not is_allowed(bucket, key, allowed):
            raise BadPayload.field(
                field, f"s3://{bucket}/{key} is outside the allowed output locations ({', '.join(allowed)})"
            )
