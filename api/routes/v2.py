"""Batch API v2 (`/api/v2/batch`): the shared routes plus `stop`."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.batch import batch_router
from evalbatch.states import Action

VERSION = 2
PREFIX = "/api/v2/batch"


def v2_router() -> APIRouter:
    """All v2 task routes."""
    return batch_router(VERSION, [("stop", Action.CANCEL, "Stop the task")])
