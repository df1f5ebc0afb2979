"""The `evalbatch` command: run the local stack (up, down, status) and a few operator tasks.

Commands stay thin: the logic lives in ops.services (the stack), evalbatch.accounts (clients), ops.archive
(sample archive), ops.demo (the demo) and ops.requests_cli (`evalbatch requests ...`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from ops.requests_cli import requests_group
from ops.services import FAILED, LocalStack, ServiceError

PORT_OPTIONS = {"redis_port": "redis", "s3_port": "s3", "pg_port": "postgres", "stac_port": "stac", "port": "api"}


def _stack(ctx: click.Context, **port_overrides: int | None) -> LocalStack:
    """The stack of the selected home, with changed ports (refused while the stack runs)."""
    try:
        return LocalStack.with_ports(ctx.obj["home"], **port_overrides)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error


def _print_urls(status: dict[str, Any]) -> None:
    urls = status["urls"]
    click.echo(f"API         {urls['api']}")
    click.echo(f"STAC API    {urls['stac']}")
    click.echo(f"S3          {urls['s3']}  (keys: `evalbatch status --json`)")
    click.echo(f"Redis       {urls['redis']}")
    click.echo(f"home        {status['home']}")


@click.group()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="EVALBATCH_HOME",
    default=None,
    help="Stack directory (data, logs, keys). Default: $EVALBATCH_HOME or ./.evalbatch",
)
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """evalbatch: a self-hosted Sentinel Hub Batch Processing API."""
    ctx.obj = {"home": home}


@cli.command()
@click.option("--port", type=int, default=None, help="API port (default 8000, or the one used last time).")
@click.option("--workers", type=click.IntRange(min=0), default=None, help="Number of rq workers.")
@click.option("--redis-port", type=int, default=None)
@click.option("--s3-port", type=int, default=None)
@click.option("--pg-port", type=int, default=None)
@click.option("--stac-port", type=int, default=None)
@click.pass_context
def up(ctx: click.Context, workers: int | None, **ports: int | None) -> None:
    """Start the local stack (a no-op for services already running) and print the URLs."""
    stack = _stack(ctx, **{PORT_OPTIONS[option]: value for option, value in ports.items()})
    try:
        report = stack.start_all(workers=workers)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    for name, state in report.items():
        click.echo(f"{name:<11} {state}")
    _print_urls(stack.describe())
    if any(state.startswith(FAILED) for state in report.values()):
        raise click.ClickException("some services failed to start (see above)")


@cli.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop every service of the stack (data is kept)."""
    stopped = _stack(ctx).stop_all()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output, with the S3 keys.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show the services, their health and the URLs."""
    report = _stack(ctx).status()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for name, service in report["services"].items():
        health = "healthy" if service["healthy"] else "down"
        where = service.get("url") or (f"pids {service['pids']}" if "pids" in service else "")
        where = where or f"port {service['port']}"
        click.echo(f"{name:<11} {health:<8} {where}")
    _print_urls(report)


@cli.group()
def client() -> None:
    """OAuth clients of the API."""


@client.command("create")
@click.option("--name", default="default", show_default=True, help="Display name of the client.")
@click.pass_context
def client_create(ctx: click.Context, name: str) -> None:
    """Create an OAuth client (and its account); prints its id and secret as JSON."""
    import redis

    from evalbatch.accounts import create_client

    connection = redis.Redis.from_url(_stack(ctx).settings.redis_url)
    try:
        click.echo(json.dumps(create_client(connection, name), indent=2))
    except redis.ConnectionError as error:
        raise click.ClickException(f"redis: not reachable ({error}); run `evalbatch up` first") from error


@cli.group()
def archive() -> None:
    """The synthetic Sentinel-2 L2A sample archive."""


def _parse_bbox(_: click.Context, __: click.Parameter, value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        bbox = tuple(float(part) for part in value.split(","))
    except ValueError:
        bbox = ()
    if len(bbox) != 4:
        raise click.BadParameter("expected four numbers W,S,E,N")
    return bbox


@archive.command("synth")
@click.option("--bbox", callback=_parse_bbox, help="W,S,E,N in degrees (default: the demo area).")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="First day, YYYY-MM-DD.")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Number of days.")
@click.option("--seed", type=int, default=None, help="Random seed (same seed, same archive).")
@click.pass_context
def archive_synth(
    ctx: click.Context, bbox: tuple[float, ...] | None, start: Any, days: int | None, seed: int | None
) -> None:
    """Generate the sample archive and load it into the stack's S3 and STAC API."""
    from ops.archive import synth

    options: dict[str, Any] = {"bbox": bbox, "days": days, "seed": seed}
    options["start"] = start.date() if start else None
    summary = synth(_stack(ctx).settings, **{k: v for k, v in options.items() if v is not None})
    is_dataclass = dataclasses.is_dataclass(summary) and not isinstance(summary, type)
    click.echo(json.dumps(dataclasses.asdict(summary), indent=2, default=str) if is_dataclass else summary)


@cli.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Start the stack, load the sample archive and run one batch request end to end."""
    from ops.api_client import ApiError
    from ops.demo import DemoError, run

    try:
        result = run(_stack(ctx))
    except (DemoError, ApiError) as error:
        raise click.ClickException(str(error)) from None
    if result.request["status"] != "DONE":
        raise click.ClickException(f"the demo request ended {result.request['status']}")


cli.add_command(requests_group)


def main() -> None:
    """Entry point of the `evalbatch` console script."""
    cli(prog_name="evalbatch")
