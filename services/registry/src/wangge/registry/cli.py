"""``wangge registry``: migrate the registry's database, serve its API."""

from __future__ import annotations

from typing import Annotated

import typer

from wangge.registry.app import MIGRATIONS, build_app
from wangge.registry.config import RegistrySettings
from wangge.service.migrations import upgrade
from wangge.service.serve import serve

app = typer.Typer(help="The registry service (提户知人).", no_args_is_help=True)


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Bring the registry's database to ``revision`` (a deployment's migration step)."""
    settings = RegistrySettings()
    upgrade(settings, MIGRATIONS, revision)
    typer.echo(f"registry database at {revision}: {settings.resolved_database_url}")


@app.command()
def run(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8001,
    migrate_first: Annotated[
        bool, typer.Option(help="run the migration step before serving (dev)")
    ] = True,
) -> None:
    """Serve the registry's API (OpenAPI at /docs)."""
    settings = RegistrySettings()
    if migrate_first:
        upgrade(settings, MIGRATIONS)
    serve(build_app(settings), settings, host=host, port=port)
