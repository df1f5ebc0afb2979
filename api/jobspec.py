"""Validated v1/v2 create bodies -> `JobSpec` (output path templates checked, COG defaults filled)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.errors import BadPayload
from api.models import v1, v2
from api.models.common import ProcessRequest
from api.output_location import check_identifier, check_output_template
from evalbatch.spec import JobSpec, delivery_root, has_placeholder, normalise_tile_path, split_s3_url

V1_COG_BLOCK_PX = 1024
V2_COG_BLOCK_PX = 256


def check_template(
    path: str,
    field: str,
    identifiers: Sequence[str],
    tile_placeholders: tuple[str, ...],
    allowed: Sequence[str],
) -> str:
    """The template for `path` (plain prefixes get the default suffix) writing the outputs `identifiers`;
    raises BadPayload when unusable or outside the `allowed` output locations."""
    try:
        split_s3_url(path)
    except ValueError as exc:
        raise BadPayload.field(field, f"must be an s3://bucket/... URL ({exc})") from exc
    if has_placeholder(path):
        if "<tileId>" in path and "<tileId>" not in tile_placeholders:
            raise BadPayload.field(field, "the <tileId> placeholder is not available; use <tileName>")
        if not any(p in path for p in tile_placeholders):
            raise BadPayload.field(field, f"a path template must contain {' or '.join(tile_placeholders)}")
        if len(identifiers) > 1 and "<outputId>" not in path:
            raise BadPayload.field(field, "a path template must contain <outputId> when there are several outputs")
    template = normalise_tile_path(path)
    check_output_template(template, field, identifiers, allowed)
    return template


def check_identifiers(responses: list[dict[str, Any]]) -> list[str]:
    """The output identifiers; raises BadPayload when one is not usable as a path segment."""
    for i, response in enumerate(responses):
        check_identifier(response["identifier"], f"processRequest.output.responses[{i}].identifier")
    return [response["identifier"] for response in responses]


def cog_parameters(given: dict[str, Any] | None, block_px: int) -> dict[str, Any]:
    """COG parameters with the version's default block size."""
    return {"blockxsize": block_px, "blockysize": block_px, **(given or {})}


def _common(process: ProcessRequest, echo_process: dict[str, Any]) -> dict[str, Any]:
    """Spec fields taken from the processRequest: the echo keeps the submitted strings (e.g. times)."""
    return {
        "evalscript": process.evalscript,
        "bounds": echo_process["input"]["bounds"],
        "data": echo_process["input"]["data"],
        "responses": process.responses(),
    }


def spec_v1(
    body: v1.CreateRequestV1, echo_process: dict[str, Any], resolution: float, allowed_outputs: Sequence[str]
) -> JobSpec:
    """The JobSpec of a v1 create body (`bucketName` means `defaultTilePath = s3://<bucketName>`)."""
    if body.zarrOutput is not None:
        raise BadPayload.field("zarrOutput", "Zarr output is not supported by evalbatch; use output")
    output = body.output or v1.Output()
    default_path = output.defaultTilePath or (f"s3://{body.bucketName}" if body.bucketName else None)
    if default_path is None:
        raise BadPayload.field("output.defaultTilePath", "give output.defaultTilePath or bucketName")
    if output.defaultTilePath and body.bucketName:
        raise BadPayload.field("bucketName", "give only one of output.defaultTilePath and bucketName")
    identifiers = check_identifiers(body.processRequest.responses())
    field = "output.defaultTilePath" if output.defaultTilePath else "bucketName"
    tile_path = check_template(default_path, field, identifiers, ("<tileName>", "<tileId>"), allowed_outputs)
    response_paths: dict[str, str] = {}
    for i, response in enumerate(output.responses or []):
        if response.identifier not in identifiers:
            raise BadPayload.field(
                f"output.responses[{i}].identifier", f"{response.identifier!r} is not an output of processRequest"
            )
        if response.tilePath:
            response_paths[response.identifier] = check_template(
                response.tilePath,
                f"output.responses[{i}].tilePath",
                [response.identifier],
                ("<tileName>", "<tileId>"),
                allowed_outputs,
            )
    return JobSpec(
        api_version=1,
        grid_id=body.tilingGrid.id,
        resolution=resolution,
        buffer_x=body.tilingGrid.bufferX,
        buffer_y=body.tilingGrid.bufferY,
        tile_path=tile_path,
        response_paths=response_paths,
        overwrite=output.overwrite,
        skip_existing=output.skipExisting,
        cog_output=output.cogOutput if output.cogOutput is not None else JobSpec.cog_output,
        cog_parameters=cog_parameters(output.cogParameters, V1_COG_BLOCK_PX),
        max_processing_units=body.maxProcessingUnits,
        **_common(body.processRequest, echo_process),
    )


def check_v2_input(body: v2.CreateRequestV2) -> tuple[int, float]:
    """(grid id, resolution) of a v2 tiling-grid input; raises BadPayload for other inputs."""
    if body.input.type != "tiling-grid":
        raise BadPayload.field("input.type", "GeoPackage input is not supported by evalbatch; use tiling-grid")
    if body.input.id is None:
        raise BadPayload.field("input.id", "Field required")
    if body.input.resolution is None:
        raise BadPayload.field("input.resolution", "Field required")
    return body.input.id, body.input.resolution


def s3_delivery(body: v2.CreateRequestV2) -> v2.S3Delivery:
    """The S3 delivery of a v2 raster output; raises BadPayload for Zarr, GCS or half-given keys."""
    if body.output.type != "raster":
        raise BadPayload.field("output.type", "Zarr output is not supported by evalbatch; use raster")
    s3 = body.output.delivery.s3
    if s3 is None:
        field = "output.delivery.gs" if body.output.delivery.gs is not None else "output.delivery.s3"
        raise BadPayload.field(field, "only S3 delivery is supported")
    if (s3.accessKey is None) != (s3.secretAccessKey is None):
        raise BadPayload.field("output.delivery.s3", "give both accessKey and secretAccessKey, or neither")
    return s3


def spec_v2(
    body: v2.CreateRequestV2, echo_process: dict[str, Any], resolution: float, allowed_outputs: Sequence[str]
) -> JobSpec:
    """The JobSpec of a v2 create body (tiling-grid input, raster output delivered to S3)."""
    grid_id, _ = check_v2_input(body)
    s3 = s3_delivery(body)
    identifiers = check_identifiers(body.processRequest.responses())
    tile_path = check_template(s3.url, "output.delivery.s3.url", identifiers, ("<tileName>",), allowed_outputs)
    return JobSpec(
        api_version=2,
        grid_id=grid_id,
        resolution=resolution,
        buffer_x=body.input.bufferX,
        buffer_y=body.input.bufferY,
        tile_path=tile_path,
        overwrite=body.output.overwrite,
        skip_existing=body.output.skipExisting,
        cog_output=body.output.cogOutput if body.output.cogOutput is not None else JobSpec.cog_output,
        cog_parameters=cog_parameters(body.output.cogParameters, V2_COG_BLOCK_PX),
        delivery_root=delivery_root(s3.url),
        max_processing_units=body.maxProcessingUnits,
        **_common(body.processRequest, echo_process),
    )
