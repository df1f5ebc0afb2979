"""Stored records -> wire JSON: the v1 request object, the v2 task object and the v1 tile object.

Secrets never reach these functions (they are split off at create), and v2 views only use v2 enum values.
"""

from __future__ import annotations

from typing import Any

from evalbatch.states import (
    RequestStatus,
    StoppedReason,
    UserAction,
    v1_status,
    v1_user_action,
    v2_status,
    v2_user_action,
)
from evalbatch.store import completion_percentage

V1_ECHO_KEYS = ("processRequest", "tilingGrid", "output", "bucketName", "zarrOutput")
EXTENSION_KEYS = ("valueEstimate", "estimate", "costPU", "lastUpdated", "error")


def v1_request(record: dict[str, Any], tile_counts: dict[str, int]) -> dict[str, Any]:
    """The v1 request object (batch-api.md §4.5) plus extension fields `tileStatusCounts`, `estimate`, `costPU`."""
    echo = record.get("request", {})
    view: dict[str, Any] = {
        "id": record["id"],
        "userId": record["accountId"],
        "accountId": record["accountId"],
        "created": record["created"],
        **{key: echo[key] for key in V1_ECHO_KEYS if key in echo},
        "description": record.get("description"),
        "tileCount": int(record.get("tileCount", 0)),
        "tileWidthPx": record.get("tileWidthPx"),
        "tileHeightPx": record.get("tileHeightPx"),
        "status": v1_status(record["status"]),
        "userAction": v1_user_action(record.get("userAction", UserAction.NONE)),
        "userActionUpdated": record.get("userActionUpdated"),
        "tileStatusCounts": tile_counts,
    }
    view.update({key: record[key] for key in EXTENSION_KEYS if key in record})
    view.setdefault("error", None)
    if "valueEstimate" not in view:
        view["valueEstimate"] = None
    return view


def v2_task(record: dict[str, Any], tile_counts: dict[str, int]) -> dict[str, Any]:
    """The v2 task object (batch-api.md §5.6): `completionPercentage` always a number, v2 enums only."""
    status = RequestStatus(record["status"])
    if status in (RequestStatus.DONE, RequestStatus.PARTIAL):
        percentage = 100.0
    else:
        percentage = completion_percentage(tile_counts, int(record.get("tileCount", 0)))
    stopped_reason = None
    if status is RequestStatus.CANCELED:
        stopped_reason = record.get("stoppedStatusReason") or StoppedReason.USER_ACTION.value
    return {
        "id": record["id"],
        "request": record.get("request", {}),
        "domainAccountId": record["accountId"],
        "projectId": record["accountId"],
        "status": v2_status(status),
        "userAction": v2_user_action(record.get("userAction", UserAction.NONE)),
        "userActionUpdated": record.get("userActionUpdated"),
        "created": record["created"],
        "lastUpdated": record.get("lastUpdated", record["created"]),
        "completionPercentage": percentage,
        "costPU": float(record.get("costPU") or 0.0),
        "error": record.get("error"),
        "stoppedStatusReason": stopped_reason,
        **({"estimate": record["estimate"]} if "estimate" in record else {}),
        **({"description": record["description"]} if record.get("description") is not None else {}),
    }


def v1_tile(tile: dict[str, Any], request_id: str) -> dict[str, Any]:
    """The v1 tile object: the stored description, status and run record (extension fields pass through)."""
    return {**tile, "id": int(tile["id"]), "requestId": tile.get("requestId", request_id)}

