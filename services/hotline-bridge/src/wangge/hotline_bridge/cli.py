"""``wangge hotline-bridge``: migrate the hotline bridge's database and serve its API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wangge.hotline_bridge import MIGRATIONS
from wangge.hotline_bridge.config import HotlineSettings
from wangge.service.cli import access_table_command, migrate_command, run_command

app = typer.Typer(help="The 12345 hotline bridge (提事知情).", no_args_is_help=True)


app.command()(migrate_command(HotlineSettings, MIGRATIONS, "hotline bridge"))


def _open311_key(settings: HotlineSettings) -> str:
    if settings.environment != "production" and not settings.open311_api_keys:
        return (
            f"  Open311 at /open311/v2; the dev api_key: {next(iter(settings.open311_clients()))}"
        )
    return "  Open311 at /open311/v2"


app.command(name="run")(
    run_command(
        HotlineSettings,
        MIGRATIONS,
        service="hotline bridge",
        port=8002,
        factory="wangge.hotline_bridge.app:build_app",
        banner=_open311_key,
    )
)


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


def _access_page() -> str:
    from wangge.hotline_bridge.api.matrix import render, routes
    from wangge.hotline_bridge.app import MATRIX_ROUTERS

    return render(routes(MATRIX_ROUTERS))


app.command("access-table")(
    access_table_command(_access_page, Path("docs/hotline-bridge/access.md"))
)
