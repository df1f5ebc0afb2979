"""The one transition table: every action from every state has exactly one documented answer."""

from __future__ import annotations

import pytest

from evalbatch.states import (
    RESTART_PARTIAL_MESSAGE,
    TRANSITIONS,
    Action,
    Outcome,
    RequestStatus,
    TileStatus,
    UserAction,
    after_analysis,
    after_tiles,
    decide,
    v1_status,
    v2_status,
    v2_user_action,
)

S = RequestStatus
V2_STATUSES = {"CREATED", "ANALYSING", "ANALYSIS_DONE", "PROCESSING", "DONE", "FAILED", "STOPPED"}


def test_table_is_complete() -> None:
    assert set(TRANSITIONS) == {(s, a) for s in RequestStatus for a in Action}


@pytest.mark.parametrize("status", list(RequestStatus))
def test_restart_partial_only_from_partial(status: RequestStatus) -> None:
    rule = decide(status, Action.RESTART_PARTIAL)
    expected = Outcome.APPLY if status is S.PARTIAL else Outcome.REJECT
    assert rule.outcome is expected
    assert "PARTIAL" in RESTART_PARTIAL_MESSAGE


@pytest.mark.parametrize(
    ("status", "action", "outcome", "to"),
    [
        (S.CREATED, Action.ANALYSE, Outcome.APPLY, S.ANALYSING),
        (S.ANALYSING, Action.ANALYSE, Outcome.NOOP, None),
        (S.DONE, Action.ANALYSE, Outcome.REJECT, None),
        (S.CREATED, Action.START, Outcome.APPLY, S.ANALYSING),
        (S.ANALYSIS_DONE, Action.START, Outcome.APPLY, S.PROCESSING),
        (S.PROCESSING, Action.START, Outcome.NOOP, None),
        (S.DONE, Action.START, Outcome.REJECT, None),
        (S.PROCESSING, Action.CANCEL, Outcome.APPLY, S.CANCELED),
        (S.CANCELED, Action.CANCEL, Outcome.NOOP, None),
        (S.DONE, Action.CANCEL, Outcome.REJECT, None),
        (S.PROCESSING, Action.UPDATE, Outcome.CONFLICT, None),
        (S.DONE, Action.UPDATE, Outcome.APPLY, None),
        (S.PROCESSING, Action.DELETE, Outcome.CONFLICT, None),
        (S.CREATED, Action.DELETE, Outcome.APPLY, None),
    ],
)
def test_documented_rules(status: RequestStatus, action: Action, outcome: Outcome, to: RequestStatus) -> None:
    rule = decide(status, action)
    assert rule.outcome is outcome
    assert rule.to == to


def test_resume_after_stop_is_v2_only() -> None:
    assert decide(S.CANCELED, Action.START, api_version=2).outcome is Outcome.APPLY
    assert decide(S.CANCELED, Action.START, api_version=1).outcome is Outcome.REJECT


def test_start_during_analysis_records_start() -> None:
    rule = decide(S.ANALYSING, Action.START)
    assert rule.outcome is Outcome.APPLY and rule.to is None and rule.user_action is UserAction.START
    assert after_analysis(UserAction.START, succeeded=True) is S.PROCESSING
    assert after_analysis(UserAction.ANALYSE, succeeded=True) is S.ANALYSIS_DONE
    assert after_analysis(UserAction.START, succeeded=False) is S.FAILED


@pytest.mark.parametrize(
    ("processed", "failed", "final"), [(3, 0, S.DONE), (2, 1, S.PARTIAL), (0, 3, S.FAILED)]
)
def test_final_status_from_tile_counts(processed: int, failed: int, final: RequestStatus) -> None:
    assert after_tiles(processed, failed) is final


def test_v2_never_shows_v1_only_values() -> None:
    assert {v2_status(s) for s in RequestStatus} == V2_STATUSES
    assert {v2_user_action(a) for a in UserAction} == {"NONE", "ANALYSE", "START", "STOP"}
    assert {v1_status(s) for s in RequestStatus} == {s.value for s in RequestStatus}


def test_tile_enum_is_the_client_enum() -> None:
    assert [t.value for t in TileStatus] == [
        "PENDING", "SCHEDULED", "QUEUED", "PROCESSING", "PROCESSED", "FAILED"
    ]
