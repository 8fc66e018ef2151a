"""``wangge training``: migrate the training service's database and serve its API."""

from __future__ import annotations

from pathlib import Path

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
