"""The JSON answers of the batch endpoints: plain dicts (built by `api.views`) serialised once, with orjson.

An endpoint that returns a ready Response skips FastAPI's response-model step, which for a sync endpoint is a
second trip through the thread pool (to validate) plus a pydantic serialisation; under load that was a large part
of a status poll. The shape of these answers is what the contract tests (tests/api) check against openapi.yaml.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """A JSON response rendered by orjson (NaN and infinities become null, as pydantic renders them)."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:  # integers beyond 64 bits, e.g. echoed from a request body
            return super().render(content)


def json_answer(content: dict[str, Any], status_code: int = 200) -> FastJSONResponse:
    """The answer of a batch endpoint."""
    return FastJSONResponse(content, status_code=status_code)
