"""``wangge training``: migrate the training service's database and serve its API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from wangge.service.cli import access_table_command, migrate_command, run_command
from wangge.training import MIGRATIONS
from wangge.training.config import TrainingSettings

app = typer.Typer(
    help="Grid workers' training: sessions, programmes, records (提情知策).", no_args_is_help=True
)

app.command()(migrate_command(TrainingSettings, MIGRATIONS, "training service"))
app.command(name="run")(
    run_command(
        TrainingSettings,
        MIGRATIONS,
        service="training service",
        port=8004,
        factory="wangge.training.app:build_app",
    )
)


def _access_page() -> str:
    from wangge.training.api.matrix import render, routes
    from wangge.training.app import ROUTERS

    return render(routes(ROUTERS))


app.command("access-table")(access_table_command(_access_page, Path("docs/training/access.md")))


@app.command("xapi-client")
def xapi_client(
    name: Annotated[str, typer.Argument(help="what the client is, e.g. 街道学习平台")],
    role: Annotated[
        str, typer.Option(help="provider: sends and reads statements; reader: only reads")
    ] = "provider",
    issued_by: Annotated[str, typer.Option(help="who issues them (kept with them)")] = "cli",
) -> None:
    """Issue HTTP Basic credentials to a learning record provider (or reader) of /xapi; the
    secret is printed this once and kept only hashed (after `wangge training migrate`)."""
    from wangge.events.db import create_engine
    from wangge.training.xapi_clients import ClientRole, issue

    try:
        chosen = ClientRole(role)
    except ValueError:
        raise typer.BadParameter("provider or reader", param_hint="--role") from None
    settings = TrainingSettings()

    async def issued() -> tuple[str, str]:
        engine = create_engine(settings.resolved_database_url, **settings.engine_options())
        try:
            made = await issue(engine, name=name, role=chosen, issued_by=issued_by)
        finally:
            await engine.dispose()
        return made.key, made.secret

    key, secret = asyncio.run(issued())
    typer.echo(f"key:    {key}\nsecret: {secret}\nrole:   {chosen.value}")
