"""What the batch endpoints do, independent of HTTP: create, act, update, delete and list requests.

Both API versions share it; `version` (1 or 2) selects the body model, the wire enums and tenancy (a
request is visible only to its account and only through the API version that created it).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from api import jobspec
from api.delivery import upload_request_copy
from api.errors import BadPayload, Conflict, NotFound, summary, validation_errors
from api.models import v1, v2
from api.normalize import echo_defaults, rename_aliases, split_secrets, strip_nulls
from api.pagination import paginate
from api.tiling import summarise_tiling
from api.views import v1_request, v2_task
from evalbatch import keys, queues
from evalbatch.settings import Settings
from evalbatch.states import (
    FINAL_TILE_STATES,
    RESTART_PARTIAL_MESSAGE,
    Action,
    Outcome,
    RequestStatus,
    TileStatus,
    UserAction,
    v1_status,
    v2_status,
)
from evalbatch.store import Store, utc_now

CREATE_MODELS: dict[int, type[BaseModel]] = {1: v1.CreateRequestV1, 2: v2.CreateRequestV2}
UPDATE_MODELS: dict[int, type[BaseModel]] = {1: v1.UpdateRequestV1, 2: v2.UpdateRequestV2}
GRID_KEYS = {1: "tilingGrid", 2: "input"}
ACTION_VERBS = {
    (1, Action.ANALYSE): "analyse",
    (2, Action.ANALYSE): "analyse",
    (1, Action.START): "start",
    (2, Action.START): "start",
    (1, Action.CANCEL): "cancel",
    (2, Action.CANCEL): "stop",
}
SORTS = ("created", "created:desc", "status", "status:desc")
STATUS_ORDER = {status.value: i for i, status in enumerate(RequestStatus)}


def validate(model: type[BaseModel], body: Any) -> Any:
    """The validated model; raises BadPayload naming every invalid field."""
    if not isinstance(body, dict):
        raise BadPayload.field("body", "must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = validation_errors(list(exc.errors()))
        raise BadPayload(summary(errors), errors) from exc


def _created_key(record: dict[str, Any]) -> list[Any]:
    """Sort key of `sort=created`: creation time, then id."""
    return [record["created"], record["id"]]


def _status_key(record: dict[str, Any]) -> list[Any]:
    """Sort key of `sort=status`: lifecycle order of the status, then creation."""
    return [STATUS_ORDER[record["status"]], record["created"], record["id"]]


def ensure_owned(owner: tuple[Any, Any] | None, account_id: str, version: int, request_id: str) -> None:
    """NotFound unless the request's `owner` is this account and API version: a request is visible only to
    its account and only through the API version that created it (a stranger's request looks missing)."""
    if owner != (account_id, version):
        raise NotFound(f"Batch request {request_id} not found")


def owned_record(record: dict[str, Any] | None, account_id: str, version: int, request_id: str) -> dict[str, Any]:
    """`record` if this account created it through this API version; else NotFound (also for no record)."""
    owner = None if record is None else (record.get("accountId"), record.get("apiVersion"))
    ensure_owned(owner, account_id, version, request_id)
    return cast("dict[str, Any]", record)  # not None: ensure_owned refused that


def request_view(record: dict[str, Any], tile_counts: dict[str, int], version: int) -> dict[str, Any]:
    """The wire JSON of a record for its API version."""
    return v1_request(record, tile_counts) if version == 1 else v2_task(record, tile_counts)


def delivery_secrets(secrets: dict[str, Any], body: v2.CreateRequestV2) -> dict[str, Any] | None:
    """What the workers read with `store.get_secrets`: `{"s3": {accessKey, secretAccessKey, region?}}`."""
    given = secrets.get("output.delivery.s3")
    if not given:
        return None
    region = body.output.delivery.s3.region if body.output.delivery.s3 else None
    return {"s3": {**given, **({"region": region} if region else {})}}


class BatchService:
    """Batch requests of one deployment (store + settings)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    # --- create ------------------------------------------------------------------------------------

    def create(self, account_id: str, version: int, raw_body: Any) -> dict[str, Any]:
        """Validate a create body, count its tiles, store the request; returns the stored record.

        Nothing is stored (and nothing uploaded) unless every check passes.
        """
        body = rename_aliases(strip_nulls(raw_body)) if isinstance(raw_body, dict) else raw_body
        model = validate(CREATE_MODELS[version], body)
        evalscript_bytes = len(model.processRequest.evalscript.encode())
        if evalscript_bytes > self.settings.max_evalscript_bytes:
            raise BadPayload.field(
                "processRequest.evalscript",
                f"{evalscript_bytes} bytes, more than the limit of {self.settings.max_evalscript_bytes}",
            )
        grid_key = GRID_KEYS[version]
        if version == 1:
            grid = model.tilingGrid
            grid_id, resolution = grid.id, grid.resolution
        else:
            grid = model.input
            grid_id, resolution = jobspec.check_v2_input(model)
            jobspec.s3_delivery(model)
        tiling = summarise_tiling(
            model.processRequest.input.bounds.model_dump(by_alias=True, exclude_none=True),
            grid_id,
            resolution,
            grid.bufferX,
            grid.bufferY,
            grid_field=grid_key,
            max_tiles=self.settings.max_tiles_per_request,
            max_vertices=self.settings.max_aoi_vertices,
        )
        if version == 1:
            body = {k: v for k, v in body.items() if k not in ("tilingGridId", "resolution")}
            body["tilingGrid"] = {**body.get("tilingGrid", {}), "id": grid_id, "resolution": resolution}
        echo, secrets = split_secrets(echo_defaults(body, grid_key))
        build_spec = jobspec.spec_v1 if version == 1 else jobspec.spec_v2
        spec = build_spec(model, echo["processRequest"], resolution, self.settings.allowed_output_buckets)
        request_id = str(uuid.uuid4())
        stored_secrets = delivery_secrets(secrets, model) if version == 2 else None
        if version == 2:
            assert spec.delivery_root is not None
            upload_request_copy(self.settings, spec.delivery_root, request_id, echo, stored_secrets or {})
        now = utc_now()
        record = {
            "id": request_id,
            "accountId": account_id,
            "apiVersion": version,
            "created": now,
            "lastUpdated": now,
            "status": RequestStatus.CREATED.value,
            "userAction": UserAction.NONE.value,
            "request": echo,
            "spec": spec.to_dict(),
            "tileCount": tiling.tile_count,
            "tileWidthPx": tiling.tile_width_px,
            "tileHeightPx": tiling.tile_height_px,
            "description": model.description,
            "costPU": 0,
        }
        self.store.create_request(record, stored_secrets)
        return record

    # --- read --------------------------------------------------------------------------------------

    def get_owned(self, account_id: str, version: int, request_id: str) -> dict[str, Any]:
        """The record of a request this account created through this API version; else NotFound."""
        return owned_record(self.store.get_request(request_id), account_id, version, request_id)

    def check_owned(self, account_id: str, version: int, request_id: str) -> None:
        """NotFound unless this account created the request through this API version (reads two fields)."""
        ensure_owned(self.store.request_owner(request_id), account_id, version, request_id)

    def view(self, record: dict[str, Any], version: int) -> dict[str, Any]:
        """The wire JSON of a record for its API version."""
        return request_view(record, self.store.tile_counts(record["id"]), version)

    def list_page(
        self,
        account_id: str,
        version: int,
        *,
        search: str | None,
        sort: str | None,
        collection_id: str | None,
        after: list[Any] | None,
        count: int,
    ) -> tuple[list[dict[str, Any]], list[Any] | None]:
        """One page of an account's requests (views) and the cursor of the next page."""
        sort = sort or "created"
        if sort not in SORTS:
            raise BadPayload.field("sort", f"must be one of {', '.join(SORTS)}")
        field, _, direction = sort.partition(":")
        if field == "created" and not search and not collection_id:
            ids = self._created_page_ids(account_id, version, after, count + 1, direction == "desc")
            if ids is not None:
                records = self.store.get_requests(ids)
                page = records[:count]
                next_key = _created_key(page[-1]) if len(records) > count and page else None
                return [self.view(r, version) for r in page], next_key
        records = self.store.get_requests(self.store.list_request_ids(account_id, version))
        if search:
            needle = search.lower()
            records = [r for r in records if needle in r["id"] or needle in (r.get("description") or "").lower()]
        if collection_id:
            records = [
                r for r in records
                if (r.get("request", {}).get("output") or {}).get("collectionId") == collection_id
            ]
        key = _status_key if field == "status" else _created_key
        page, next_key = paginate(records, key, after, count, descending=direction == "desc")
        return [self.view(r, version) for r in page], next_key

    def _created_page_ids(
        self, account_id: str, version: int, after: list[Any] | None, count: int, descending: bool
    ) -> list[str] | None:
        """Ids of one page in creation order straight from the account's ZSET (score = created ms, ties by
        id, the same order as `_created_key`); None when the cursor's request is gone (then the caller scans)."""
        index = keys.account_requests(account_id, version)
        client = self.store.redis
        start = 0
        if after is not None:
            rank = (client.zrevrank if descending else client.zrank)(index, str(after[-1]))
            if rank is None:
                return None
            start = int(rank) + 1
        page = (client.zrevrange if descending else client.zrange)(index, start, start + count - 1)
        return [rid.decode() for rid in page]

    # --- actions -----------------------------------------------------------------------------------

    def act(self, account_id: str, version: int, request_id: str, action: Action) -> None:
        """Apply analyse/start/cancel(stop)/restartpartial and its side effects (jobs queued or canceled)."""
        self.check_owned(account_id, version, request_id)
        rule, previous = self.store.apply_action(request_id, action, version)
        if previous is None:
            raise NotFound(f"Batch request {request_id} not found")
        if rule.outcome is Outcome.NOOP:
            return
        if rule.outcome is Outcome.REJECT:
            raise BadPayload(self._reject_message(version, action, previous))
        if rule.outcome is Outcome.CONFLICT:
            raise Conflict(f"The request cannot be changed while its status is {self._status(version, previous)}.")
        self._side_effects(request_id, action, previous)

    def _side_effects(self, request_id: str, action: Action, previous: RequestStatus) -> None:
        client = self.store.redis
        if action is Action.CANCEL:
            queues.cancel_jobs(client, request_id, self._non_final_tile_ids(request_id))
        elif action is Action.RESTART_PARTIAL:
            for tile_id in list(self.store.iter_tile_ids(request_id, TileStatus.FAILED)):
                self.store.set_tile_status(request_id, tile_id, TileStatus.PENDING, [TileStatus.FAILED])
            queues.enqueue_start(client, request_id)
        elif previous is RequestStatus.CREATED:  # analyse, or start (analysis first)
            queues.enqueue_analyse(client, request_id)
        elif action is Action.START and previous is RequestStatus.ANALYSIS_DONE:
            queues.enqueue_start(client, request_id)
        elif action is Action.START and previous is RequestStatus.CANCELED:  # v2 resume after stop
            if sum(self.store.tile_counts(request_id).values()) > 0:
                self._requeue_interrupted_tiles(request_id)
                queues.enqueue_start(client, request_id)
            else:  # stopped before its analysis finished: analyse again, then process
                self.store.transition(request_id, RequestStatus.ANALYSING, [RequestStatus.PROCESSING])
                queues.enqueue_analyse(client, request_id)

    def _requeue_interrupted_tiles(self, request_id: str) -> None:
        """Tiles whose jobs a stop canceled (scheduled, queued, running) become PENDING again."""
        interrupted = [s for s in TileStatus if s not in FINAL_TILE_STATES and s is not TileStatus.PENDING]
        for status in interrupted:
            for tile_id in list(self.store.iter_tile_ids(request_id, status)):
                self.store.set_tile_status(request_id, tile_id, TileStatus.PENDING, interrupted)

    def _non_final_tile_ids(self, request_id: str) -> list[int]:
        return [
            tile_id
            for status in TileStatus
            if status not in FINAL_TILE_STATES
            for tile_id in self.store.iter_tile_ids(request_id, status)
        ]

    def _reject_message(self, version: int, action: Action, status: RequestStatus) -> str:
        if action is Action.RESTART_PARTIAL:
            return RESTART_PARTIAL_MESSAGE
        verb = ACTION_VERBS[(version, action)]
        return f"Cannot {verb} a request with status {self._status(version, status)}."

    @staticmethod
    def _status(version: int, status: RequestStatus) -> str:
        return v1_status(status) if version == 1 else v2_status(status)

    # --- update and delete -------------------------------------------------------------------------

    def update(self, account_id: str, version: int, request_id: str, raw_body: Any) -> dict[str, Any]:
        """Change the description (and, in v1, `output.collectionId`); 409 while analysing/processing."""
        record = self.get_owned(account_id, version, request_id)
        body = strip_nulls(raw_body) if isinstance(raw_body, dict) else raw_body
        model = validate(UPDATE_MODELS[version], body)
        rule, _ = self.store.apply_action(request_id, Action.UPDATE, version)
        if rule.outcome is Outcome.CONFLICT:
            raise Conflict(
                f"The request cannot be updated while its status is {self._status(version, record['status'])}."
            )
        echo = dict(record.get("request", {}))
        fields: dict[str, Any] = {}
        if model.description is not None:
            fields["description"] = echo["description"] = model.description
        collection_id = getattr(getattr(model, "output", None), "collectionId", None)
        if collection_id is not None:
            echo["output"] = {**(echo.get("output") or {}), "collectionId": collection_id}
        if fields or collection_id is not None:
            self.store.update_request(request_id, request=echo, **fields)
        return self.get_owned(account_id, version, request_id)

    def delete(self, account_id: str, version: int, request_id: str) -> None:
        """Delete a request that was never started and has no processed tiles; else Conflict."""
        record = self.get_owned(account_id, version, request_id)
        rule, current = self.store.apply_action(request_id, Action.DELETE, version)
        status = current or record["status"]
        if rule.outcome is not Outcome.APPLY:
            raise Conflict(f"A request with status {self._status(version, status)} cannot be deleted.")
        counts = self.store.tile_counts(request_id)
        if counts[TileStatus.PROCESSED.value] > 0:
            raise Conflict("A request with processed tiles cannot be deleted.")
        # a canceled request no longer says START, but tiles that left PENDING were handed to workers
        scheduled = sum(n for status, n in counts.items() if status != TileStatus.PENDING.value)
        if record.get("userAction") == UserAction.START.value or scheduled:
            raise Conflict("A request that was started cannot be deleted.")
        self.store.delete_request(request_id)
