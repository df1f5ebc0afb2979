"""`evalbatch requests ...`: look at batch requests (v1) through the HTTP API, as their owner sees them.

    evalbatch requests list                  # the account's requests
    evalbatch requests show ID [--json]      # one request
    evalbatch requests tiles ID [--status S] # its tiles
    evalbatch requests watch ID              # a progress bar until the request is final, then a summary
    evalbatch requests replay ID TILE_ID     # re-run one tile locally (debugging; needs Redis and S3 access)

Connection: `--api-url` (else $EVALBATCH_PUBLIC_URL, else the API of the local stack recorded in
`$EVALBATCH_HOME/services.json`, else the settings' default) and `--client-id`/`--client-secret` (else
$EVALBATCH_CLIENT_ID / $EVALBATCH_CLIENT_SECRET; `evalbatch client create` makes a client).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import httpx
from tqdm import tqdm

from evalbatch.settings import Settings
from evalbatch.states import RequestStatus, TileStatus
from ops.api_client import FINAL_STATUSES, ApiClient, ApiError, finished_tiles
from ops.services import SERVICES_FILE, default_home

PUBLIC_URL_ENV = "EVALBATCH_PUBLIC_URL"
CLIENT_ID_ENV = "EVALBATCH_CLIENT_ID"
CLIENT_SECRET_ENV = "EVALBATCH_CLIENT_SECRET"
DEFAULT_WATCH_INTERVAL_S = 2.0
MISSING = "-"


def stack_api_url(home: Path) -> str | None:
    """The API URL recorded by the last `evalbatch up` in `home`, if any."""
    try:
        return str(json.loads((home / SERVICES_FILE).read_text())["urls"]["api"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resolve_api_url(option: str | None, home: Path | None) -> str:
    """The API base URL: the option, $EVALBATCH_PUBLIC_URL, the local stack's, or the settings' default."""
    return (
        option
        or os.environ.get(PUBLIC_URL_ENV)
        or stack_api_url(home or default_home())
        or str(Settings.model_fields["public_url"].default)
    )


def _home(ctx: click.Context) -> Path | None:
    root = ctx.find_root().obj
    return root.get("home") if isinstance(root, dict) else None


def with_api(command: Callable[..., None]) -> Callable[..., None]:
    """Add the connection options to a command and pass it a connected `api: ApiClient` instead.

    API errors and connection failures become one-line click errors.
    """

    @click.option("--api-url", default=None, help=f"API base URL (default: ${PUBLIC_URL_ENV} or the local stack).")
    @click.option("--client-id", envvar=CLIENT_ID_ENV, required=True, help=f"OAuth client id (${CLIENT_ID_ENV}).")
    @click.option(
        "--client-secret", envvar=CLIENT_SECRET_ENV, required=True, help=f"OAuth client secret (${CLIENT_SECRET_ENV})."
    )
    @click.pass_context
    @functools.wraps(command)
    def wrapper(ctx: click.Context, api_url: str | None, client_id: str, client_secret: str, **kwargs: Any) -> None:
        url = resolve_api_url(api_url, _home(ctx))
        try:
            with ApiClient(url, client_id, client_secret) as api:
                ctx.invoke(command, api=api, **kwargs)
        except ApiError as error:
            raise click.ClickException(error.message) from error
        except httpx.TransportError as error:
            raise click.ClickException(f"cannot reach the API at {url} ({error}); is it running?") from error

    return wrapper


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    cells = [[str(c) for c in headers], *([MISSING if c is None else str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in cells
    )


def _estimate(request: dict[str, Any]) -> float | None:
    estimate = request.get("estimate") or {}
    return estimate.get("processingUnits", request.get("valueEstimate"))


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} {count}" for status, count in counts.items() if count) or "no tiles"


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


@click.group("requests")
def requests_group() -> None:
    """Batch requests (API v1) of your account: list, show, tiles, watch; replay a tile locally."""


@requests_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="The request objects as JSON.")
@with_api
def list_requests(api: ApiClient, as_json: bool) -> None:
    """List the account's requests, newest first."""
    requests = api.requests(sort="created:desc")
    if as_json:
        _echo_json(requests)
        return
    if not requests:
        click.echo("no requests")
        return
    rows = [
        (
            r["id"], r["status"], f"{finished_tiles(r)}/{r['tileCount']}",
            (r.get("tileStatusCounts") or {}).get(TileStatus.FAILED, 0), _estimate(r), r.get("created"),
            r.get("description") or "",
        )
        for r in requests
    ]
    click.echo(format_table(("ID", "STATUS", "TILES", "FAILED", "ESTIMATE PU", "CREATED", "DESCRIPTION"), rows))


@requests_group.command("show")
@click.argument("request_id")
@click.option("--json", "as_json", is_flag=True, help="The whole request object as JSON.")
@with_api
def show_request(api: ApiClient, request_id: str, as_json: bool) -> None:
    """Show one request: status, tiles by status, estimate, error."""
    request = api.request(request_id)
    if as_json:
        _echo_json(request)
        return
    facts = [
        ("id", request["id"]),
        ("description", request.get("description") or MISSING),
        ("status", request["status"]),
        ("user action", request.get("userAction") or MISSING),
        ("created", request.get("created") or MISSING),
        ("tiles", f"{finished_tiles(request)}/{request['tileCount']} finished"),
        ("by status", _counts_text(request.get("tileStatusCounts") or {})),
        ("estimate PU", _estimate(request) if _estimate(request) is not None else MISSING),
        ("cost PU", request.get("costPU", MISSING)),
        ("error", request.get("error") or MISSING),
    ]
    width = max(len(name) for name, _ in facts)
    for name, value in facts:
        click.echo(f"{name.ljust(width)}  {value}")


@requests_group.command("tiles")
@click.argument("request_id")
@click.option(
    "--status",
    type=click.Choice([s.value for s in TileStatus], case_sensitive=False),
    help="Only tiles of this status.",
)
@click.option("--json", "as_json", is_flag=True, help="The tile objects as JSON.")
@with_api
def list_tiles(api: ApiClient, request_id: str, status: str | None, as_json: bool) -> None:
    """List the tiles of a request: status, attempts, seconds, error."""
    tiles = api.tiles(request_id, status.upper() if status else None)
    if as_json:
        _echo_json(tiles)
        return
    rows = [
        (t["id"], t.get("name"), t["status"], t.get("attempts"), t.get("seconds"), t.get("error") or "")
        for t in tiles
    ]
    click.echo(format_table(("ID", "NAME", "STATUS", "ATTEMPTS", "SECONDS", "ERROR"), rows))


def print_summary(request: dict[str, Any], failed: list[dict[str, Any]]) -> None:
    """The end of `watch`: final status, tiles by status, and each failed tile with its error."""
    counts = request.get("tileStatusCounts") or {}
    click.echo(f"request {request['id']}: {request['status']}")
    click.echo(f"tiles: {_counts_text(counts)} (of {request['tileCount']})")
    if request.get("error"):
        click.echo(f"error: {request['error']}")
    if failed:
        click.echo("failed tiles:")
        click.echo(
            format_table(
                ("ID", "NAME", "ATTEMPTS", "ERROR"),
                [(t["id"], t.get("name"), t.get("attempts"), t.get("error") or "") for t in failed],
            )
        )


@requests_group.command("watch")
@click.argument("request_id")
@click.option(
    "--interval", type=click.FloatRange(min=0.05), default=DEFAULT_WATCH_INTERVAL_S, show_default=True,
    help="Seconds between polls.",
)
@with_api
def watch_request(api: ApiClient, request_id: str, interval: float) -> None:
    """Follow a request with a progress bar of finished tiles until it is final, then summarise it.

    Exits with 0 when the request is DONE and 1 when it ends PARTIAL, FAILED or CANCELED.
    """
    with tqdm(total=0, unit="tile", desc=request_id[:8], dynamic_ncols=True) as progress:
        request = api.wait(request_id, FINAL_STATUSES, progress, interval_s=interval)
    print_summary(request, api.tiles(request_id, TileStatus.FAILED.value))
    if request["status"] != RequestStatus.DONE:
        raise click.exceptions.Exit(1)


@requests_group.command("replay")
@click.argument("request_id")
@click.argument("tile_id", type=int)
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Keep the tile's COGs (<output id>.tif) in this directory.",
)
@click.pass_context
def replay_request_tile(ctx: click.Context, request_id: str, tile_id: int, out_dir: Path | None) -> None:
    """Re-run one tile locally, in this process, without delivering anything: timings, scenes, error.

    Reads the request from the deployment's Redis ($EVALBATCH_* settings, else the local stack of --home).
    Exits with 1 when the tile fails again.
    """
    from ops.replay import ReplayError, format_report, replay_from_settings, replay_settings

    try:
        report = replay_from_settings(replay_settings(_home(ctx)), request_id, tile_id, out_dir)
    except ReplayError as error:
        raise click.ClickException(str(error)) from error
    for line in format_report(report):
        click.echo(line)
    if not report.ok:
        raise click.exceptions.Exit(1)
