"""``wangge cases``: migrate the cases service's database, serve its API, and write its access
matrix for the docs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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


@app.command("access-table")
def access_table(
    out: Annotated[Path, typer.Option(help="markdown file to write")] = Path(
        "docs/cases/access.md"
    ),
) -> None:
    """Write the access matrix (every endpoint, its roles and scope) for the docs."""
    from wangge.cases.api.matrix import render, routes
    from wangge.cases.app import ROUTERS

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(routes(ROUTERS)), encoding="utf-8")
    typer.echo(f"access matrix written to {out}")
