"""Batch API v2 bodies: create (POST /process) and update (PUT /process/{id})."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.models.common import MAX_BUFFER_PX, Budget, Loose, OutputOptions, ProcessRequest


class GridInput(Loose):
    """`input`: a tiling grid (GeoPackage input is recognised but not supported)."""

    type: Literal["tiling-grid", "geopackage"]
    id: int | None = None
    resolution: float | None = Field(default=None, gt=0)
    bufferX: int = Field(default=0, ge=0, le=MAX_BUFFER_PX)
    bufferY: int = Field(default=0, ge=0, le=MAX_BUFFER_PX)


class S3Delivery(Loose):
    """`delivery.s3`: a URL (template) and optional credentials."""

    url: str = Field(min_length=1)
    accessKey: str | None = None
    secretAccessKey: str | None = None
    iamRoleARN: str | None = None
    region: str | None = None


class Delivery(Loose):
    """`output.delivery`."""

    s3: S3Delivery | None = None
    gs: dict[str, Any] | None = None


class Output(OutputOptions):
    """`output`: raster (supported) or Zarr (recognised, not supported)."""

    type: Literal["raster", "zarr"]
    delivery: Delivery


class CreateRequestV2(Budget):
    """The v2 create body. Unknown top-level keys are ignored; `instance_type` is read as `instanceType`."""

    model_config = ConfigDict(extra="ignore")

    processRequest: ProcessRequest
    input: GridInput
    output: Output
    instanceType: Literal["normal", "large"] = "normal"
    description: str | None = None


class UpdateRequestV2(BaseModel):
    """The v2 update body: only the description."""

    model_config = ConfigDict(extra="ignore")

    description: str | None = None
