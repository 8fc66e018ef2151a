"""``wangge cases``: migrate the cases service's database, serve its API, and write its access
matrix for the docs."""

from __future__ import annotations

from pathlib import Path

import typer

from wangge.cases import MIGRATIONS
from wangge.cases.config import CasesSettings
from wangge.service.cli import access_table_command, migrate_command, run_command

app = typer.Typer(
    help="Cases, mediation and care plans (提人知事, 提事知情).", no_args_is_help=True
)

app.command()(migrate_command(CasesSettings, MIGRATIONS, "cases service"))
app.command(name="run")(
    run_command(
        CasesSettings,
        MIGRATIONS,
        service="cases service",
        port=8003,
        factory="wangge.cases.app:build_app",
    )
)


def _access_page() -> str:
    from wangge.cases.api.matrix import render, routes
    from wangge.cases.app import ROUTERS

    return render(routes(ROUTERS))


app.command("access-table")(access_table_command(_access_page, Path("docs/cases/access.md")))
