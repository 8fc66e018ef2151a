"""``wangge replay``: export event topics (or the embedded default's tables) into a pseudonymised
Parquet dataset, and query it with DuckDB."""

from __future__ import annotations

import asyncio
import os
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wangge.replay import CHUNK
from wangge.replay import policy as policies
from wangge.replay.pseudonyms import ExportKeyError, load_key, new_key
from wangge.replay.times import parse_moment

app = typer.Typer(
    help="Analyst replay: event streams into Parquet, pseudonymised.", no_args_is_help=True
)


class Format(StrEnum):
    """How the dataset's files are written."""

    PARQUET = "parquet"
    JSONL = "jsonl"


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (2026-06-30)", param_hint="--as-of"
        ) from None


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="the dataset's folder (created; a rerun goes on)")],
    topic: Annotated[
        list[str] | None, typer.Option(help="a topic to export; repeat for several (default: all)")
    ] = None,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="read the topics from these brokers"),
    ] = None,
    tables: Annotated[
        Path | None,
        typer.Option(help="read the embedded default's event tables in this folder (./var)"),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="from this date (China Standard Time) or ISO time on")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="up to (not including) this date or time")
    ] = None,
    format: Annotated[Format, typer.Option(help="Parquet, or JSON Lines")] = Format.PARQUET,
    workers: Annotated[
        int,
        typer.Option(min=1, max=64, help="processes in one consumer group (up to the partitions)"),
    ] = 1,
    policy: Annotated[
        Path | None, typer.Option(help="pseudonymisation policy (TOML; default: the shipped one)")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="export key (hex or raw; default: $WANGGE_EXPORT_KEY)")
    ] = None,
    extend: Annotated[
        bool, typer.Option(help="move the export's end to now (an export begun earlier goes on)")
    ] = False,
    namespace: Annotated[str, typer.Option(help="topics <namespace>.<service>.events")] = "wangge",
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    as_of: Annotated[
        str | None,
        typer.Option(help="also write projections' tables as they stood at the end of this day"),
    ] = None,
    projection: Annotated[
        list[str] | None,
        typer.Option(
            help="module:attribute of a projection for --as-of (default: the views' "
            "roster and residents); repeat for several"
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="WANGGE_TOKEN", help="your bearer token: the export is recorded"),
    ] = None,
    views_url: Annotated[
        str, typer.Option(envvar="WANGGE_VIEWS_URL", help="the views service that records it")
    ] = "http://127.0.0.1:8005",
    chunk: Annotated[
        int, typer.Option(min=1, help="offsets per file of a partition (fixed by the first run)")
    ] = CHUNK,
    iceberg: Annotated[
        str | None,
        typer.Option(
            help="also publish to Iceberg tables in this SQL catalog "
            "(sqlite:///…, postgresql+psycopg://…)"
        ),
    ] = None,
    iceberg_namespace: Annotated[
        str, typer.Option(help="the Iceberg namespace of the tables <service>__<Event>")
    ] = "wangge_replay",
) -> None:
    """Export events into a Hive-partitioned dataset (topic=/type=/month=), one row per event."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from wangge.replay.dataset import DatasetError, Manifest
    from wangge.replay.export import AS_OF_DEFAULT, Options, run
    from wangge.replay.record import ExportRefused, record_export

    if tables is None and not bootstrap_servers:
        tables = Path("var") if Path("var").is_dir() else None
    if tables is not None:
        bootstrap_servers = None
    if tables is None and not bootstrap_servers:
        raise typer.BadParameter("name --bootstrap-servers or --tables", param_hint="--tables")
    if not token:
        raise typer.BadParameter(
            "an export is recorded (who exported what): name your bearer token",
            param_hint="--token",
        )
    try:
        key = load_key(key_file)
        policy_text = policy.read_text(encoding="utf-8") if policy else policies.default_text()
        policies.parse(policy_text)
        options = Options(
            out=out,
            key=key,
            policy_text=policy_text,
            topics=tuple(topic) if topic else None,
            namespace=namespace,
            bootstrap_servers=bootstrap_servers,
            data_dir=tables,
            since=_moment(since, "--since"),
            until=_moment(until, "--until"),
            format=format.value,
            workers=workers,
            extend=extend,
            chunk=chunk,
            as_of=_day(as_of),
            projections=tuple(projection) if projection else AS_OF_DEFAULT,
            iceberg=iceberg,
            iceberg_namespace=iceberg_namespace,
        )
    except (ExportKeyError, policies.PolicyError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} events/s · lag {task.fields[lag]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=quiet or not os.isatty(2), transient=False) as bar:
        task = bar.add_task("replay", total=None, rate="-", lag="-")

        def shown(done: int, total: int) -> None:
            speed = bar.tasks[task].speed
            bar.update(
                task,
                completed=done,
                total=total,
                rate=f"{speed:,.0f}" if speed else "-",
                lag=f"{total - done:,}",
            )

        async def recorder(manifest: Manifest, pseudonymised: bool) -> str:
            assert token is not None
            made = await record_export(
                views_url, token, manifest, pseudonymised=pseudonymised, as_of=options.as_of
            )
            return str(made["export_id"])

        try:
            summary = asyncio.run(run(options, progress=shown, recorder=recorder))
        except (ExportRefused, policies.PolicyError, DatasetError) as refused:
            typer.echo(str(refused), err=True)
            raise typer.Exit(2) from None
    for table, count in summary.as_of.items():
        typer.echo(f"{table} as of {as_of}: {count:,} rows")
    for table, count in summary.iceberg.items():
        typer.echo(f"Iceberg table {table}: {count:,} rows published")
    typer.echo(
        f"{summary.offsets:,} events written to {out} in {summary.seconds:.1f} s "
        f"({summary.offsets / max(summary.seconds, 1e-9):,.0f} events/s)"
    )


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="DuckDB SQL; each type is a view <service>.<Event>")],
    dataset: Annotated[Path, typer.Option(help="the dataset's folder")] = Path("var/replay"),
) -> None:
    """Run one query over a dataset with DuckDB and print the result."""
    from wangge.replay.query import connect

    with connect(dataset) as db:
        print(db.sql(query))


@app.command()
def key() -> None:
    """Print a new export key (hex): keep it; exports made with one key join on pseudonyms."""
    typer.echo(new_key())
