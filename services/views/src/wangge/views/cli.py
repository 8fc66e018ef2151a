"""``wangge views``: migrate the views service's database and serve its API."""

from __future__ import annotations

from pathlib import Path

import typer

from wangge.service.cli import access_table_command, migrate_command, run_command
from wangge.views import MIGRATIONS
from wangge.views.config import ViewsSettings

app = typer.Typer(
    help="Views across departments (一网统管): resident 360, grid dashboards, department feeds, "
    "the lineage of a matter.",
    no_args_is_help=True,
)

app.command()(migrate_command(ViewsSettings, MIGRATIONS, "views service"))
app.command(name="run")(
    run_command(
        ViewsSettings,
        MIGRATIONS,
        service="views service",
        port=8005,
        factory="wangge.views.app:build_app",
    )
)


def _access_page() -> str:
    from wangge.views.api.matrix import render, routes
    from wangge.views.app import ROUTERS

    return render(routes(ROUTERS))


app.command("access-table")(access_table_command(_access_page, Path("docs/views/access.md")))
