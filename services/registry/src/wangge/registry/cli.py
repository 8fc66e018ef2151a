"""``wangge registry``: migrate the registry's database, serve its API, import census files."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from wangge.registry import MIGRATIONS
from wangge.registry.config import RegistrySettings
from wangge.registry.synthetic import SIZES, Generator
from wangge.service.cli import access_table_command, migrate_command

if TYPE_CHECKING:
    from wangge.registry.census import Report

# The app, the census import and the seeding are imported by the commands that use them: the
# command line answers its help and `migrate` without loading the web app (seconds).

app = typer.Typer(help="The registry service (提户知人).", no_args_is_help=True)


app.command()(migrate_command(RegistrySettings, MIGRATIONS, "registry"))


@app.command()
def run(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8001,
    migrate_first: Annotated[
        bool, typer.Option(help="run the migration step before serving (dev)")
    ] = True,
    seed: Annotated[
        str | None,
        typer.Option(help="seed a synthetic subdistrict of this size on first start (dev)"),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="server processes (one per core)")
    ] = 1,
) -> None:
    """Serve the registry's API (OpenAPI at /docs)."""
    from wangge.registry.app import build_app
    from wangge.service.migrations import upgrade
    from wangge.service.serve import serve

    settings = RegistrySettings()
    if migrate_first:
        upgrade(settings, MIGRATIONS)
    if seed:
        _seed(settings, seed, 320111001)
    typer.echo(
        f"registry on http://{host}:{port} (OpenAPI: /docs); a token to call it with:\n"
        f"  .venv/bin/wangge token --role subdistrict_admin --subdistrict 320111001 "
        f"--data-dir {settings.data_dir}"
    )
    serve(
        build_app(settings), settings, host=host, port=port, workers=workers,
        factory="wangge.registry.app:build_app",
    )  # fmt: skip


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )


def _summary(report: Report, seconds: float) -> str:
    rate = report.imported / seconds if seconds else 0.0
    return (
        f"{report.rows} rows: {report.imported} imported, {report.skipped} already registered, "
        f"{report.rejected} rejected; {report.households} households and {report.places} places "
        f"added; {report.events} events in {seconds:.1f} s ({rate:,.0f} residents/s)"
    )


@app.command("import")
def import_census(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="census file: .csv or .jsonl")
    ],
    rejects: Annotated[
        Path | None,
        typer.Option(help="where bad rows go, with reasons (default: FILE.rejects.csv)"),
    ] = None,
    census_date: Annotated[
        str | None, typer.Option(help="the day the census describes (default: today)")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=10_000,
            help="rows per transaction (default: 2,000 on PostgreSQL; 500 on SQLite, whose "
            "single writer a running service waits for)",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="importer processes, each taking whole grids")
    ] = 1,
) -> None:
    """Import a census file: validate every row, import the good ones, reject the bad ones.

    Columns (header row for CSV): grid_code, building_number, unit_number, dwelling_number,
    dwelling_usage, household_number, household_type, relationship, name, identity_number,
    phone, ethnicity, hukou_type, residence_status, occupation, employer, moved_in_on,
    moved_in_from, moved_out_on, whereabouts, tags. Re-running a file imports nothing twice.
    """
    from wangge.registry.bootstrap import registry
    from wangge.registry.census import CensusImport, RejectWriter, import_parallel, read_rows
    from wangge.registry.handlers.persons import today

    settings = RegistrySettings()
    if batch_size is None:
        batch_size = 500 if settings.resolved_database_url.startswith("sqlite") else 2000
    reject_path = rejects or file.with_name(file.name + ".rejects.csv")
    on = date.fromisoformat(census_date) if census_date else today()
    total = sum(1 for _ in read_rows(file))

    async def main() -> Report:
        writer = RejectWriter(reject_path)
        try:
            async with registry(settings) as core:
                importer = CensusImport(core, census_date=on)
                await importer.load()
                with _progress() as progress:
                    task = progress.add_task("importing", total=total)
                    report = await importer.run(
                        read_rows(file),
                        batch_size=batch_size,
                        on_reject=writer.write,
                        on_progress=lambda n: progress.advance(task, n),
                    )
                await core.catch_up()
                return report
        finally:
            writer.close()

    started = time.perf_counter()
    if workers > 1:
        typer.echo(f"importing {total} rows with {workers} workers ...")
        report = import_parallel(
            file, reject_path, census_date=on, batch_size=batch_size, workers=workers
        )
        asyncio.run(_catch_up(settings))
    else:
        report = asyncio.run(main())
    typer.echo(_summary(report, time.perf_counter() - started))
    if report.rejected:
        typer.echo(f"rejected rows and their reasons: {reject_path}")


async def _catch_up(settings: RegistrySettings) -> None:
    from wangge.registry.bootstrap import registry

    async with registry(settings) as core:
        await core.catch_up()


def _seed(settings: RegistrySettings, size: str, seed: int) -> None:
    from wangge.registry.bootstrap import registry
    from wangge.registry.handlers.persons import today
    from wangge.registry.seeding import has_subdistrict
    from wangge.registry.seeding import seed as seed_subdistrict

    if size not in SIZES:
        raise typer.BadParameter(f"one of {', '.join(SIZES)}", param_hint="--size")
    generator = Generator(seed=seed, size=size)

    async def main() -> Report | None:
        async with registry(settings) as core:
            if await has_subdistrict(core, generator.subdistrict().code):
                return None  # a restart on the data of an earlier start: no bar to show
            with _progress() as progress:
                task = progress.add_task(f"seeding a {size} subdistrict", total=None)
                return await seed_subdistrict(
                    core, generator, census_date=today(),
                    on_progress=lambda n: progress.advance(task, n),
                )  # fmt: skip

    started = time.perf_counter()
    report = asyncio.run(main())
    if report is not None and report.rows:
        typer.echo(_summary(report, time.perf_counter() - started))
    else:
        typer.echo(f"subdistrict {generator.subdistrict().code} is seeded already")


@app.command()
def seed(
    size: Annotated[str, typer.Option(help=f"one of {', '.join(SIZES)}")] = "small",
    seed: Annotated[int, typer.Option(help="the same seed gives the same subdistrict")] = 320111001,
    tree_only: Annotated[
        bool,
        typer.Option(help="only the subdistrict, communities and grids (import a census next)"),
    ] = False,
) -> None:
    """Register a synthetic subdistrict (沿江街道-like; Faker zh_CN), once."""
    from wangge.registry.bootstrap import registry
    from wangge.registry.seeding import has_subdistrict, seed_tree

    if tree_only:
        generator = Generator(seed=seed, size=size)

        async def tree() -> int:
            async with registry(RegistrySettings()) as core:
                if await has_subdistrict(core, generator.subdistrict().code):
                    return 0
                return await seed_tree(core, generator)

        typer.echo(f"{asyncio.run(tree())} places registered")
        return
    _seed(RegistrySettings(), size, seed)


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="census file to write: .csv or .jsonl")],
    size: Annotated[str, typer.Option(help=f"one of {', '.join(SIZES)}")] = "small",
    seed: Annotated[int, typer.Option()] = 320111001,
) -> None:
    """Write a synthetic census file (its grids come with ``seed`` of the same size and seed)."""
    from wangge.registry.synthetic import write_csv, write_jsonl

    generator = Generator(seed=seed, size=size)
    writer = write_jsonl if out.suffix.lower() in (".jsonl", ".ndjson") else write_csv
    count = writer(generator.residents(), out)
    typer.echo(f"{count} residents written to {out}")


def _access_page() -> str:
    from wangge.registry.api.matrix import render, routes
    from wangge.registry.app import ROUTERS

    return render(routes(ROUTERS))


app.command("access-table")(access_table_command(_access_page, Path("docs/registry/access.md")))
