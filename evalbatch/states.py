"""Request and tile states, user actions, the one transition table, and the v1/v2 enum mappings.

Both API versions drive the same internal state machine (batch-api.md §4.7, §5.8, §5.9). Every pair of
(state, action) has exactly one rule in `TRANSITIONS`; `decide()` looks it up. System events (analysis
finished, tiles finished) are applied by the workers through `after_analysis()` and `after_tiles()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RequestStatus(StrEnum):
    """Internal request state (the v1 names)."""

    CREATED = "CREATED"
    ANALYSING = "ANALYSING"
    ANALYSIS_DONE = "ANALYSIS_DONE"
    PROCESSING = "PROCESSING"
    DONE = "DONE"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class TileStatus(StrEnum):
    """Tile state; exactly the six values the v1 client accepts."""

    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


class UserAction(StrEnum):
    """The last action a user took on a request (internal names = v1 names)."""

    NONE = "NONE"
    ANALYSE = "ANALYSE"
    START = "START"
    CANCEL = "CANCEL"


class Action(StrEnum):
    """Everything a user can do to an existing request."""

    ANALYSE = "ANALYSE"
    START = "START"
    CANCEL = "CANCEL"
    RESTART_PARTIAL = "RESTART_PARTIAL"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


class Outcome(StrEnum):
    """What the API answers to an action."""

    APPLY = "APPLY"  # change state (or keep it) and do the side effect; 204 / 200
    NOOP = "NOOP"  # already in effect; 204, nothing changes
    REJECT = "REJECT"  # 400 COMMON_BAD_PAYLOAD naming the current status
    CONFLICT = "CONFLICT"  # 409 COMMON_CONFLICT


FINAL_STATES = frozenset(
    {RequestStatus.DONE, RequestStatus.PARTIAL, RequestStatus.FAILED, RequestStatus.CANCELED}
)
FINAL_TILE_STATES = frozenset({TileStatus.PROCESSED, TileStatus.FAILED})
RESTART_PARTIAL_MESSAGE = "Only requests with status PARTIAL can be restarted."


@dataclass(frozen=True)
class Rule:
    """The answer of the state machine to one action in one state."""

    outcome: Outcome
    to: RequestStatus | None = None  # the new status when outcome is APPLY (None: unchanged)
    user_action: UserAction | None = None  # the userAction to record when outcome is APPLY
    v2_only: bool = False  # APPLY only for v2 requests; v1 requests get REJECT


S = RequestStatus
A = Action
_apply = Outcome.APPLY
_noop = Rule(Outcome.NOOP)
_reject = Rule(Outcome.REJECT)
_conflict = Rule(Outcome.CONFLICT)

TRANSITIONS: dict[tuple[RequestStatus, Action], Rule] = {
    # analyse
    (S.CREATED, A.ANALYSE): Rule(_apply, S.ANALYSING, UserAction.ANALYSE),
    (S.ANALYSING, A.ANALYSE): _noop,
    (S.ANALYSIS_DONE, A.ANALYSE): _noop,
    (S.PROCESSING, A.ANALYSE): _reject,
    (S.DONE, A.ANALYSE): _reject,
    (S.PARTIAL, A.ANALYSE): _reject,
    (S.FAILED, A.ANALYSE): _reject,
    (S.CANCELED, A.ANALYSE): _reject,
    # start: from CREATED the analysis runs first; a START during analysis makes processing follow it
    (S.CREATED, A.START): Rule(_apply, S.ANALYSING, UserAction.START),
    (S.ANALYSING, A.START): Rule(_apply, None, UserAction.START),
    (S.ANALYSIS_DONE, A.START): Rule(_apply, S.PROCESSING, UserAction.START),
    (S.PROCESSING, A.START): _noop,
    (S.DONE, A.START): _reject,
    (S.PARTIAL, A.START): _reject,
    (S.FAILED, A.START): _reject,
    (S.CANCELED, A.START): Rule(_apply, S.PROCESSING, UserAction.START, v2_only=True),  # v2 resume
    # cancel (v1) / stop (v2)
    (S.CREATED, A.CANCEL): Rule(_apply, S.CANCELED, UserAction.CANCEL),
    (S.ANALYSING, A.CANCEL): Rule(_apply, S.CANCELED, UserAction.CANCEL),
    (S.ANALYSIS_DONE, A.CANCEL): Rule(_apply, S.CANCELED, UserAction.CANCEL),
    (S.PROCESSING, A.CANCEL): Rule(_apply, S.CANCELED, UserAction.CANCEL),
    (S.DONE, A.CANCEL): _reject,
    (S.PARTIAL, A.CANCEL): _reject,
    (S.FAILED, A.CANCEL): _reject,
    (S.CANCELED, A.CANCEL): _noop,
    # restartpartial
    **{(s, A.RESTART_PARTIAL): _reject for s in S if s is not S.PARTIAL},
    (S.PARTIAL, A.RESTART_PARTIAL): Rule(_apply, S.PROCESSING, UserAction.START),
    # update (PUT)
    **{(s, A.UPDATE): Rule(_apply) for s in S},
    (S.ANALYSING, A.UPDATE): _conflict,
    (S.PROCESSING, A.UPDATE): _conflict,
    # delete: the API also refuses (409) after START or when tiles were processed
    (S.CREATED, A.DELETE): Rule(_apply),
    (S.ANALYSIS_DONE, A.DELETE): Rule(_apply),
    (S.FAILED, A.DELETE): Rule(_apply),
    (S.CANCELED, A.DELETE): Rule(_apply),
    (S.ANALYSING, A.DELETE): _conflict,
    (S.PROCESSING, A.DELETE): _conflict,
    (S.DONE, A.DELETE): _conflict,
    (S.PARTIAL, A.DELETE): _conflict,
}


def decide(status: RequestStatus, action: Action, api_version: int = 1) -> Rule:
    """The rule for `action` on a request in `status`, for a request owned by `api_version`."""
    rule = TRANSITIONS[(RequestStatus(status), Action(action))]
    if rule.v2_only and api_version != 2:
        return _reject
    return rule


def after_analysis(user_action: UserAction, succeeded: bool) -> RequestStatus:
    """The status an ANALYSING request moves to when its analysis job ends."""
    if not succeeded:
        return S.FAILED
    return S.PROCESSING if user_action is UserAction.START else S.ANALYSIS_DONE


def after_tiles(processed: int, failed: int) -> RequestStatus:
    """The final status of a request whose tiles are all final."""
    if failed == 0:
        return S.DONE
    return S.FAILED if processed == 0 else S.PARTIAL


# --- Mapping to the wire enums of each API version (batch-api.md §5.9) -------------------------------


def v1_status(status: RequestStatus) -> str:
    """The v1 `status` value."""
    return RequestStatus(status).value


def v2_status(status: RequestStatus) -> str:
    """The v2 `status` value: PARTIAL is DONE (failed features are FATAL), CANCELED is STOPPED."""
    status = RequestStatus(status)
    if status is S.PARTIAL:
        return "DONE"
    if status is S.CANCELED:
        return "STOPPED"
    return status.value


def v1_user_action(action: UserAction) -> str:
    """The v1 `userAction` value."""
    return UserAction(action).value


def v2_user_action(action: UserAction) -> str:
    """The v2 `userAction` value (CANCEL is STOP)."""
    action = UserAction(action)
    return "STOP" if action is UserAction.CANCEL else action.value


class StoppedReason(StrEnum):
    """v2 `stoppedStatusReason`."""

    OUT_OF_PU = "OUT_OF_PU"
    USER_ACTION = "USER_ACTION"
    UNHEALTHY = "UNHEALTHY"
