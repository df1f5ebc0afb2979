"""Batch API v1 bodies: create (POST /process) and update (PUT /process/{id})."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.models.common import MAX_BUFFER_PX, Budget, Loose, OutputOptions, ProcessRequest


class TilingGrid(Loose):
    """`tilingGrid`: grid id (0 is valid), resolution in grid units, buffers in pixels on each side."""

    id: int
    resolution: float = Field(gt=0)
    bufferX: int = Field(default=0, ge=0, le=MAX_BUFFER_PX)
    bufferY: int = Field(default=0, ge=0, le=MAX_BUFFER_PX)


class ResponsePath(Loose):
    """`output.responses[]`: a per-output path override."""

    identifier: str = Field(min_length=1)
    tilePath: str | None = None


class Output(OutputOptions):
    """`output`: tile-path based delivery."""

    defaultTilePath: str | None = None
    responses: list[ResponsePath] | None = None


class CreateRequestV1(Budget):
    """The v1 create body. Unknown top-level keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    processRequest: ProcessRequest
    tilingGrid: TilingGrid
    output: Output | None = None
    bucketName: str | None = Field(default=None, min_length=1)
    zarrOutput: dict[str, Any] | None = None
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _deprecated_grid_aliases(cls, data: Any) -> Any:
        """Accept the deprecated top-level `tilingGridId` / `resolution`."""
        given = data.get("tilingGrid") if isinstance(data, dict) else None
        aliased = isinstance(data, dict) and ("tilingGridId" in data or "resolution" in data)
        if aliased and isinstance(given, dict | None):  # any other tilingGrid is left to the type check
            grid = dict(given or {})
            if "tilingGridId" in data:
                grid.setdefault("id", data["tilingGridId"])
            if "resolution" in data:
                grid.setdefault("resolution", data["resolution"])
            data = {**data, "tilingGrid": grid}
        return data


class UpdateOutput(Loose):
    """`output` of a v1 update: only the collection can change."""

    collectionId: str | None = None


class UpdateRequestV1(BaseModel):
    """The v1 update body."""

    model_config = ConfigDict(extra="ignore")

    description: str | None = None
    output: UpdateOutput | None = None
