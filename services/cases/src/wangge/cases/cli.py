"""``wangge cases``: migrate the cases service's database and serve its API."""

from __future__ import annotations

from typing import Annotated

import typer

from wangge.cases.app import MIGRATIONS, build_app
from wangge.cases.config import CasesSettings
from wangge.service.cli import migrate_command
from wangge.service.migrations import upgrade
from wangge.service.serve import serve

app = typer.Typer(
    help="Cases, mediation and care plans (提人知事, 提事知情).", no_args_is_help=True
)


app.command()(migrate_command(CasesSettings, MIGRATIONS, "cases service"))


@app.command()
def run(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8003,
    migrate_first: Annotated[
        bool, typer.Option(help="run the migration step before serving (dev)")
    ] = True,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="server processes (one per core)")
    ] = 1,
) -> None:
    """Serve the cases service's API (OpenAPI at /docs)."""
    settings = CasesSettings()
    if migrate_first:
        upgrade(settings, MIGRATIONS)
    typer.echo(f"cases on http://{host}:{port} (OpenAPI: /docs)")
    serve(
        build_app(settings), settings, host=host, port=port, workers=workers,
        factory="wangge.cases.app:build_app",
    )  # fmt: skip
