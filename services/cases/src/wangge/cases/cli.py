"""``wangge cases``: migrate the cases service's database and serve its API."""

from __future__ import annotations

import typer

from wangge.cases.app import MIGRATIONS
from wangge.cases.config import CasesSettings
from wangge.service.cli import migrate_command, run_command

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
