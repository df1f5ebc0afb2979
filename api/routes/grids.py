"""`/tilinggrids` of both API versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from api.auth import Principal
from api.dependencies import Page, current_principal, page_query
from api.errors import NotFound
from api.pagination import page_envelope, paginate
from grids import GRIDS


def grids_router() -> APIRouter:
    """The tiling-grid routes (mounted under `/api/v1/batch` and `/api/v2/batch`)."""
    router = APIRouter(tags=["tiling grids"])

    @router.get("/tilinggrids", summary="List tiling grids")
    def list_grids(
        request: Request,
        _: Annotated[Principal, Depends(current_principal)],
        page: Annotated[Page, Depends(page_query)],
    ) -> dict[str, Any]:
        grids, next_key = paginate(list(GRIDS.values()), lambda g: [g.id], page.after, page.count)
        return page_envelope([g.to_api() for g in grids], request.url, page.token, next_key)

    @router.get("/tilinggrids/{grid_id}", summary="Get one tiling grid")
    def get_grid(grid_id: int, _: Annotated[Principal, Depends(current_principal)]) -> dict[str, Any]:
        if grid_id not in GRIDS:
            raise NotFound(f"Tiling grid {grid_id} not found")
        return GRIDS[grid_id].to_api()

    return router
