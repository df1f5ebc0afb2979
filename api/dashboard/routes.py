"""Routes of the dashboard: the page, its static files and the generated status colours."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from api.dashboard.config import page_config, status_stylesheet
from api.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX_FILE = "index.html"
PREFIX = "/dashboard"
MEDIA_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(prefix=PREFIX, tags=["dashboard"], include_in_schema=False)


def _static_files() -> dict[str, Path]:
    """The files the page may load, by name (a fixed list: request paths never reach the file system)."""
    return {path.name: path for path in STATIC_DIR.iterdir() if path.suffix in MEDIA_TYPES}


STATIC_FILES = _static_files()


def _file(name: str) -> FileResponse:
    path = STATIC_FILES.get(name)
    if path is None:
        raise NotFound(f"Dashboard file {name} not found")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=NO_CACHE)


@router.get("")
def index() -> FileResponse:
    """The single page of the dashboard."""
    return _file(INDEX_FILE)


@router.get("/")
def index_slash() -> RedirectResponse:
    """`/dashboard/` -> `/dashboard` (relative links of the page assume the latter)."""
    return RedirectResponse(PREFIX, status_code=308)


@router.get("/config.json")
def config() -> JSONResponse:
    """Tile status colours and the poll interval."""
    return JSONResponse(page_config(), headers=NO_CACHE)


@router.get("/status.css")
def status_css() -> Response:
    """The stylesheet of the tile status colours."""
    return Response(status_stylesheet(), media_type="text/css", headers=NO_CACHE)


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """One file of `api/dashboard/static/`."""
    return _file(name)
