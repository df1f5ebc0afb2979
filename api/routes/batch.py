"""The endpoints v1 and v2 share: create, list, get, update, analyse and start."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import Principal
from api.dependencies import Page, create_body, current_principal, get_reads, get_service, json_body, page_query
from api.pagination import page_envelope
from api.responses import json_answer
from api.service import BatchService, owned_record, request_view
from api.store_reads import AsyncStoreReads
from evalbatch.states import Action

Caller = Annotated[Principal, Depends(current_principal)]
Service = Annotated[BatchService, Depends(get_service)]
Reads = Annotated[AsyncStoreReads, Depends(get_reads)]  # the hot GETs: async, one Redis round trip each


def no_content() -> Response:
    """The empty 204 answer of the action endpoints."""
    return Response(status_code=204)


ActionRoute = tuple[str, Action, str]  # (path segment, action, summary)
COMMON_ACTIONS: list[ActionRoute] = [
    ("analyse", Action.ANALYSE, "Start the analysis"),
    ("start", Action.START, "Start processing (the analysis runs first when needed)"),
]


def batch_router(version: int, extra_actions: list[ActionRoute]) -> APIRouter:
    """Routes of `/api/v{version}/batch/process`: the shared ones and the version's action endpoints."""
    router = APIRouter(tags=[f"batch v{version}"])

    @router.post("/process", status_code=201, summary="Create a batch request")
    def create(caller: Caller, service: Service, body: Annotated[Any, Depends(create_body)]) -> Response:
        record = service.create(caller.account_id, version, body)
        return json_answer(service.view(record, version), status_code=201)

    @router.get("/process", summary="List batch requests")
    def list_requests(
        request: Request,
        caller: Caller,
        service: Service,
        page: Annotated[Page, Depends(page_query)],
        search: Annotated[str | None, Query()] = None,
        sort: Annotated[str | None, Query()] = None,
        collection_id: Annotated[str | None, Query(alias="collectionId")] = None,
    ) -> Response:
        data, next_key = service.list_page(
            caller.account_id,
            version,
            search=search,
            sort=sort,
            collection_id=collection_id,
            after=page.after,
            count=page.count,
        )
        return json_answer(page_envelope(data, request.url, page.token, next_key))

    @router.get("/process/{request_id}", summary="Get a batch request")
    async def get_request(request_id: str, caller: Caller, reads: Reads) -> Response:
        record, counts = await reads.request_with_counts(request_id)
        return json_answer(request_view(owned_record(record, caller.account_id, version, request_id), counts, version))

    @router.put("/process/{request_id}", summary="Update a batch request")
    def update_request(
        request_id: str, caller: Caller, service: Service, body: Annotated[Any, Depends(json_body)]
    ) -> Response:
        return json_answer(service.view(service.update(caller.account_id, version, request_id, body), version))

    def action_route(path: str, action: Action, summary: str) -> None:
        def endpoint(request_id: str, caller: Caller, service: Service) -> Response:
            service.act(caller.account_id, version, request_id, action)
            return no_content()

        endpoint.__name__ = f"{path}_v{version}"
        router.add_api_route(
            f"/process/{{request_id}}/{path}", endpoint, methods=["POST"], status_code=204, summary=summary
        )

    for path, action, summary in COMMON_ACTIONS + extra_actions:
        action_route(path, action, summary)
    return router
