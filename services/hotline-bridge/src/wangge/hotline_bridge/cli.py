"""``wangge hotline-bridge``: migrate the hotline bridge's database and serve its API."""

from __future__ import annotations

from typing import Annotated

import typer

from wangge.hotline_bridge.app import MIGRATIONS, build_app
from wangge.hotline_bridge.config import HotlineSettings
from wangge.service.cli import migrate_command
from wangge.service.migrations import upgrade
from wangge.service.serve import serve

app = typer.Typer(help="The 12345 hotline bridge (提事知情).", no_args_is_help=True)


app.command()(migrate_command(HotlineSettings, MIGRATIONS, "hotline bridge"))


@app.command()
def run(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8002,
    migrate_first: Annotated[
        bool, typer.Option(help="run the migration step before serving (dev)")
    ] = True,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="server processes (one per core)")
    ] = 1,
) -> None:
    """Serve the hotline bridge's API (OpenAPI at /docs)."""
    settings = HotlineSettings()
    if migrate_first:
        upgrade(settings, MIGRATIONS)
    typer.echo(f"hotline bridge on http://{host}:{port} (OpenAPI: /docs; Open311: /open311/v2)")
    if settings.environment != "production" and not settings.open311_api_keys:
        typer.echo(f"  the dev Open311 api_key: {next(iter(settings.open311_clients()))}")
    serve(
        build_app(settings), settings, host=host, port=port, workers=workers,
        factory="wangge.hotline_bridge.app:build_app",
    )  # fmt: skip


@app.command()
def sign(
    body_file: Annotated[typer.FileBinaryRead, typer.Argument(help="the push's JSON body")],
) -> None:
    """Print the signature headers of a push (for trying the intake by hand in dev)."""
    import time

    from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP
    from wangge.hotline_bridge.signing import sign as make_signature

    settings = HotlineSettings()
    now = int(time.time())
    typer.echo(f"{TIMESTAMP}: {now}")
    typer.echo(f"{SIGNATURE}: {make_signature(settings.signing_secret(), now, body_file.read())}")
