"""Batch API v1 (`/api/v1/batch`): the shared routes plus cancel, restartpartial, delete and tiles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.dependencies import Page, page_query
from api.errors import BadPayload, NotFound
from api.pagination import page_envelope
from api.responses import json_answer
from api.routes.batch import Caller, Reads, Service, batch_router, no_content
from api.service import ensure_owned
from api.tile_json import v1_tiles_data
from api.views import v1_tile
from evalbatch.states import Action, TileStatus
from evalbatch.store import merge_tile

VERSION = 1
PREFIX = "/api/v1/batch"


def v1_router() -> APIRouter:
    """All v1 request and tile routes."""
    router = batch_router(
        VERSION,
        [
            ("cancel", Action.CANCEL, "Cancel the request"),
            ("restartpartial", Action.RESTART_PARTIAL, "Re-run the failed tiles of a PARTIAL request"),
        ],
    )

    @router.delete("/process/{request_id}", status_code=204, summary="Delete a batch request")
    def delete_request(request_id: str, caller: Caller, service: Service) -> Response:
        service.delete(caller.account_id, VERSION, request_id)
        return no_content()

    @router.get("/process/{request_id}/tiles", summary="List the tiles of a request")
    async def list_tiles(
        request: Request,
        request_id: str,
        caller: Caller,
        reads: Reads,
        page: Annotated[Page, Depends(page_query)],
        status: Annotated[TileStatus | None, Query()] = None,
    ) -> Response:
        try:
            after = _tile_cursor(page.after)
        except BadPayload:  # a stranger's request is not found, whatever the token
            ensure_owned(await reads.owner(request_id), caller.account_id, VERSION, request_id)
            raise
        tiles = await reads.tile_page(request_id, status, after, page.count)
        ensure_owned(tiles.owner, caller.account_id, VERSION, request_id)
        next_key = [tiles.ids[page.count - 1]] if len(tiles.ids) > page.count else None
        data = v1_tiles_data(request_id, tiles.static, tiles.statuses, tiles.infos)
        return json_answer(page_envelope(data, request.url, page.token, next_key))

    @router.get("/process/{request_id}/tiles/{tile_id}", summary="Get one tile")
    async def get_tile(request_id: str, tile_id: int, caller: Caller, reads: Reads) -> Response:
        found = await reads.tile(request_id, tile_id)
        ensure_owned(found.owner, caller.account_id, VERSION, request_id)
        if not found.static or found.static[0] is None:
            raise NotFound(f"Tile {tile_id} of batch request {request_id} not found")
        return json_answer(v1_tile(merge_tile(found.static[0], found.statuses[0], found.infos[0]), request_id))

    return router


def _tile_cursor(key: list[Any] | None) -> int | None:
    """The tile id a tiles `viewtoken` points after."""
    if key is None:
        return None
    if len(key) != 1 or not isinstance(key[0], int):
        raise BadPayload.field("viewtoken", "not a valid page token")
    return key[0]
