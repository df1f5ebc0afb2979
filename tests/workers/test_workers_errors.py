"""Retry classification: user errors never retried, storage/catalog/network errors retried, bugs not."""

from __future__ import annotations

import botocore.exceptions
import pytest
import rasterio.errors

from evaluator import Evalscript, EvalscriptError
from workers.errors import (
    InvalidRequestError,
    OutputExistsError,
    TransientError,
    describe,
    is_transient,
    is_user_error,
)


def script_error() -> EvalscriptError:
    try:
        Evalscript.parse("//VERSION=3\nfunction setup() { return {input: [\"B04\"], output: {bands: 1}}; }\n"
                         "function evaluatePixel(s) { return [s.B04 }\n")
    except EvalscriptError as exc:
        return exc
    raise AssertionError("the script should not compile")


@pytest.mark.parametrize("exc", [InvalidRequestError("bad"), OutputExistsError("exists"), script_error()])
def test_user_errors_are_not_retried(exc):
    assert is_user_error(exc) and not is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        TransientError("stac down"),
        ConnectionError("reset"),
        TimeoutError(),
        rasterio.errors.RasterioIOError("HTTP 503"),
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ],
)
def test_infrastructure_errors_are_retried(exc):
    assert is_transient(exc) and not is_user_error(exc)


def test_bugs_are_neither():
    assert not is_transient(ValueError("bug")) and not is_user_error(ValueError("bug"))


def test_describe_keeps_the_script_line():
    text = describe(script_error())
    assert "line 3" in text and "\n" not in text
    assert len(describe(RuntimeError("x" * 5000))) == 2000
