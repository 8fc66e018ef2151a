"""``wangge training``: migrate the training service's database and serve its API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wangge.service.cli import migrate_command, run_command
from wangge.training.app import MIGRATIONS
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


@app.command("access-table")
def access_table(
    out: Annotated[Path, typer.Option(help="markdown file to write")] = Path(
        "docs/training/access.md"
    ),
) -> None:
    """Write the access matrix (every endpoint, its roles and scope) for the docs."""
    from wangge.training.api.matrix import render, routes
    from wangge.training.app import ROUTERS

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(routes(ROUTERS)), encoding="utf-8")
    typer.echo(f"access matrix written to {out}")
