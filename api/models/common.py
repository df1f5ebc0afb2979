"""The parts of a create body both API versions share: the Process API request, tiling grid, budget.

The models validate; they are not used to echo the body (the echo is the submitted JSON, normalised, see
`api.normalize`), so nested objects allow unknown keys and the client's extra options pass through.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
MAX_BUFFER_PX = 32767  # int16
ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
DEFAULT_RESPONSES = [{"identifier": "default", "format": {"type": "image/tiff"}}]


class Loose(BaseModel):
    """A JSON object that may carry keys we do not validate."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class OutputOptions(Loose):
    """The `output` options v1 and v2 share (batch-api.md §4.2, §5.4)."""

    overwrite: bool = False
    skipExisting: bool = False
    cogOutput: bool | None = None
    cogParameters: dict[str, Any] | None = None
    createCollection: bool | None = None
    collectionId: str | None = None


class TimeRange(Loose):
    """`dataFilter.timeRange`."""

    from_: datetime = Field(alias="from")
    to: datetime

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        start, end = (_aware(t) for t in (self.from_, self.to))
        if start > end:
            raise ValueError("'from' must not be after 'to'")
        return self


class TemporalInterpolation(Loose):
    """Extension: `processing.temporalInterpolation` of one datasource."""

    step: str
    method: Literal["linear", "nearest"] = "linear"

    @field_validator("step")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not ISO_DURATION.match(value):
            raise ValueError("must be an ISO 8601 duration such as P5D")
        return value


class Processing(Loose):
    """`input.data[].processing`."""

    upsampling: Literal["NEAREST", "BILINEAR", "BICUBIC"] | None = None
    downsampling: Literal["NEAREST", "BILINEAR", "BICUBIC"] | None = None
    temporalInterpolation: TemporalInterpolation | None = None


class DataFilter(Loose):
    """`input.data[].dataFilter`."""

    timeRange: TimeRange | None = None
    maxCloudCoverage: float | None = Field(default=None, ge=0, le=100)


class DataSource(Loose):
    """One entry of `input.data`."""

    type: str = Field(min_length=1)
    id: str | None = None
    dataFilter: DataFilter | None = None
    processing: Processing | None = None


class BoundsProperties(Loose):
    """`bounds.properties`."""

    crs: str = CRS84


class Bounds(Loose):
    """`processRequest.input.bounds`: a bbox and/or a GeoJSON geometry."""

    bbox: list[float] | None = None
    geometry: dict[str, Any] | None = None
    properties: BoundsProperties = Field(default_factory=BoundsProperties)

    @model_validator(mode="after")
    def _has_extent(self) -> Bounds:
        if self.bbox is None and self.geometry is None:
            raise ValueError("bounds need a bbox or a geometry")
        return self


class ProcessInput(Loose):
    """`processRequest.input`."""

    bounds: Bounds
    data: list[DataSource] = Field(min_length=1)


class ResponseFormat(Loose):
    """`output.responses[].format`."""

    type: Literal["image/tiff", "application/json", "zarr/array"] = "image/tiff"


class ProcessResponse(Loose):
    """One entry of `processRequest.output.responses`."""

    identifier: str = Field(min_length=1)
    format: ResponseFormat = Field(default_factory=ResponseFormat)


class ProcessOutput(Loose):
    """`processRequest.output` (width/height/resx/resy are ignored in batch)."""

    responses: list[ProcessResponse] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ProcessOutput:
        if self.responses is not None:
            ids = [r.identifier for r in self.responses]
            if len(set(ids)) != len(ids):
                raise ValueError("response identifiers must be unique")
        return self


class ProcessRequest(Loose):
    """`processRequest`: a Process API payload without output size."""

    input: ProcessInput
    output: ProcessOutput = Field(default_factory=ProcessOutput)
    evalscript: str = Field(min_length=1)

    def responses(self) -> list[dict[str, Any]]:
        """The requested outputs as `[{identifier, format: {type}}]` (one GeoTIFF `default` when none)."""
        if not self.output.responses:
            return [dict(r) for r in DEFAULT_RESPONSES]
        return [{"identifier": r.identifier, "format": {"type": r.format.type}} for r in self.output.responses]


class Budget(BaseModel):
    """Extension shared by both versions: stop processing beyond this many PU."""

    maxProcessingUnits: float | None = Field(default=None, gt=0)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
