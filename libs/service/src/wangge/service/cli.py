"""``wangge``: the project's command line (services add their own sub-commands)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from wangge.service.devissuer import DevIssuer
from wangge.service.settings import ServiceSettings

app = typer.Typer(help="Wangge: grid-based community governance.", no_args_is_help=True)

ENTRY_POINTS = "wangge.cli"
"""Services add their sub-commands (``wangge registry migrate``) through this entry-point group,
so the command grows with the services without the kit importing any of them."""


def migrate_command(
    settings: Callable[[], ServiceSettings], migrations: Path, service: str
) -> Callable[[str], None]:
    """A service's ``migrate`` sub-command (``app.command()(migrate_command(...))``)."""

    def migrate(
        revision: Annotated[str, typer.Argument(help="target revision")] = "head",
    ) -> None:
        """Bring the service's database to ``revision`` (a deployment's migration step)."""
        from wangge.service.migrations import upgrade

        current = settings()
        upgrade(current, migrations, revision)
        typer.echo(f"{service} database at {revision}: {current.resolved_database_url}")

    return migrate


def access_table_command(render: Callable[[], str], default: Path) -> Callable[[Path], None]:
    """A service's ``access-table`` sub-command (``app.command("access-table")(...)``):
    ``render`` makes the page (importing the API only when called), ``default`` is where the
    docs keep it."""

    def access_table(
        out: Annotated[Path, typer.Option(help="markdown file to write")] = default,
    ) -> None:
        """Write the access matrix (every endpoint, its roles and scope) for the docs."""
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(), encoding="utf-8")
        typer.echo(f"access matrix written to {out}")

    return access_table


S = TypeVar("S", bound=ServiceSettings)


def run_command(
    settings: Callable[[], S],
    migrations: Path,
    *,
    service: str,
    port: int,
    factory: str,
    banner: Callable[[S], str] | None = None,
) -> Callable[..., None]:
    """A service's ``run`` sub-command: migrate first (dev), then serve ``factory`` (an app
    factory's import path, ``module:function``) on ``port`` with one or more processes."""

    def run(
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = port,
        migrate_first: Annotated[
            bool, typer.Option(help="run the migration step before serving (dev)")
        ] = True,
        workers: Annotated[
            int, typer.Option(min=1, max=64, help="server processes (one per core)")
        ] = 1,
    ) -> None:
        """Serve the service's API (OpenAPI at /docs)."""
        from importlib import import_module

        from wangge.service.migrations import upgrade
        from wangge.service.serve import serve

        current = settings()
        if migrate_first:
            upgrade(current, migrations)
        typer.echo(f"{service} on http://{host}:{port} (OpenAPI: /docs)")
        if banner is not None:
            typer.echo(banner(current))
        module, function = factory.split(":")
        build = getattr(import_module(module), function)
        serve(build(current), current, host=host, port=port, workers=workers, factory=factory)

    run.__doc__ = f"Serve the {service}'s API (OpenAPI at /docs)."
    return run


def _own_commands() -> set[str]:
    """The names of the kit's own commands, as typer derives them (``token``)."""
    return {
        command.name or command.callback.__name__.replace("_", "-")
        for command in app.registered_commands
        if command.callback is not None
    }


def _add_service_commands(argv: Sequence[str]) -> None:
    """The services' sub-commands: only the one the command line names, when it names one (a
    service's commands import its app, seconds of a command that needs none of it, such as
    ``wangge token``); all of them for the help, a completion or a name nobody knows."""
    services = {entry.name: entry for entry in entry_points(group=ENTRY_POINTS)}
    named = next((word for word in argv[1:] if not word.startswith("-")), None)
    if named in services:
        wanted = [services[named]]
    elif named in _own_commands():
        wanted = []
    else:
        wanted = list(services.values())
    for entry in wanted:
        sub = entry.load()
        if isinstance(sub, typer.Typer):
            app.add_typer(sub, name=entry.name)


@app.callback()
def main() -> None:
    """Wangge's command line."""


@app.command()
def token(
    role: Annotated[list[str], typer.Option(help="a role; repeat for several")],
    subdistrict: Annotated[list[str] | None, typer.Option(help="subdistrict code in scope")] = None,
    community: Annotated[list[str] | None, typer.Option(help="community code in scope")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="grid code in scope")] = None,
    subject: Annotated[str, typer.Option(help="who the token is for")] = "dev-user",
    hours: Annotated[int, typer.Option(min=1, max=24 * 30)] = 8,
    data_dir: Annotated[Path | None, typer.Option(help="where the dev key lives")] = None,
) -> None:
    """Print a development bearer token, signed by the dev issuer (dev and test only)."""
    from wangge.service.auth import is_known_role  # the web framework's import: only here

    unknown = [r for r in role if not is_known_role(r)]
    if unknown:
        raise typer.BadParameter(f"unknown roles: {', '.join(unknown)}", param_hint="--role")
    settings = ServiceSettings(service="cli")
    issuer = DevIssuer((data_dir or settings.data_dir) / "dev-issuer.pem")
    places = [*(subdistrict or []), *(community or []), *(grid or [])]
    typer.echo(issuer.issue(subject, roles=role, places=places, ttl_seconds=hours * 3600))


_add_service_commands(sys.argv)
