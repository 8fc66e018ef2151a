"""A dataset opened in DuckDB: every event type a view ``<service>.<Event>`` (the analyst writes
``FROM hotline_bridge.TicketReceived``), ``events`` over every type's envelope columns, and each
projection table written ``--as-of`` a day a view ``as_of_<yyyymmdd>.<projection>_<table>``.

The relay publishes at least once: after a crash an event may be on its topic twice (the same
``event_id``), and the dataset keeps what the topic holds. The views show each event once, so a
count is a count of facts. Times are shown in China Standard Time, the subdistrict's clock.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from wangge.events.contract import published_catalogue
from wangge.replay import policy as policies
from wangge.replay.dataset import STATE
from wangge.replay.pseudonyms import pseudonymiser
from wangge.replay.rows import Rows

PARTITIONS = ("topic", "type", "month")
"""The folders' names of a dataset's files (``topic=…/type=…/month=…``), read as columns."""


def _read(files: str, format: str, *, hive: bool) -> str:
    how = "hive_partitioning=true" if hive else "hive_partitioning=false, filename=true"
    if format == "jsonl":
        return f"read_json_auto('{files}', format='newline_delimited', {how}, union_by_name=true)"
    return f"read_parquet('{files}', {how}, union_by_name=true)"


def _reader(files: str, format: str, own: frozenset[str] = frozenset()) -> str:
    """The files' events, each once. A data field named as a partition (a training session's
    ``topic``) would be shadowed by its folder's name, so a type with one keeps its own and
    takes only the other partitions from the file's path."""
    once = "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY event_offset) = 1"
    if not own & set(PARTITIONS):
        return f"(SELECT * FROM {_read(files, format, hive=True)} {once})"  # noqa: S608
    folders = "".join(
        f", regexp_extract(filename, '/{name}=([^/]+)/', 1) AS {name}"
        for name in PARTITIONS
        if name not in own
    )
    read = _read(files, format, hive=False)
    return f"(SELECT * EXCLUDE (filename){folders} FROM {read} {once})"  # noqa: S608


def _columns(db: duckdb.DuckDBPyConnection, files: str, format: str) -> frozenset[str]:
    """The names of the columns the files hold (without the folders')."""
    read = _read(files, format, hive=False)
    found = db.execute(f"DESCRIBE SELECT * EXCLUDE (filename) FROM {read}").fetchall()  # noqa: S608
    return frozenset(row[0] for row in found)


def _none_yet(db: duckdb.DuckDBPyConnection, made: set[str]) -> None:
    """An empty view for each type the catalogue knows and the dataset holds no event of (a
    span with no reopened case): a query names it and counts nothing, rather than fail. Its
    columns are what the default policy writes of the type."""
    rows = Rows(published_catalogue(), policies.load(None), pseudonymiser(bytes(32)))
    for entry in rows.catalogue:
        parts = entry.type.split(".")
        if entry.type in made or len(parts) != 3:
            continue
        schema = rows.layout(entry.type).schema
        folders = "".join(
            f", CAST(NULL AS VARCHAR) AS {name}" for name in PARTITIONS if name not in schema.names
        )
        empty = f"none_yet_{len(made)}"
        made.add(entry.type)
        db.register(empty, schema.empty_table())
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{parts[1]}"')
        db.execute(  # names from the catalogue, quoted: no caller's text
            f'CREATE VIEW "{parts[1]}"."{parts[2]}" AS SELECT *{folders} FROM "{empty}"'  # noqa: S608
        )


def connect(dataset: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the dataset's views (the files are read, never loaded)."""
    manifest = dataset / STATE / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(f"{dataset} holds no export (no {STATE}/manifest.json)")
    format = json.loads(manifest.read_text(encoding="utf-8"))["format"]
    db = duckdb.connect()
    db.execute("SET TimeZone = 'Asia/Shanghai'")
    root = str(dataset.resolve()).replace("'", "''")
    types = sorted(p for p in dataset.glob("topic=*/type=*") if p.is_dir())
    made: set[str] = set()
    for folder in types:
        event_type = folder.name.removeprefix("type=")
        parts = event_type.split(".")
        if len(parts) != 3 or event_type in made:
            continue
        made.add(event_type)
        service, name = parts[1], parts[2]
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{service}"')
        files = str(folder.resolve()).replace("'", "''") + f"/*/*.{format}"
        # names and paths from the dataset's own folders, quoted: no caller's text
        view = _reader(files, format, _columns(db, files, format))
        db.execute(f'CREATE VIEW "{service}"."{name}" AS SELECT * FROM {view}')  # noqa: S608
    _none_yet(db, made)
    for folder in sorted(p for p in dataset.glob("as_of=*/projection=*/table=*") if p.is_dir()):
        day = folder.parent.parent.name.removeprefix("as_of=").replace("-", "")
        projection = folder.parent.name.removeprefix("projection=")
        table = folder.name.removeprefix("table=")
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "as_of_{day}"')
        files = str(folder.resolve()).replace("'", "''") + "/*.parquet"
        db.execute(
            f'CREATE VIEW "as_of_{day}"."{projection}_{table}" AS '  # noqa: S608  # own folders
            f"SELECT * FROM read_parquet('{files}')"
        )
    if types:
        everything = f"{root}/topic=*/type=*/*/*.{format}"
        db.execute(f"CREATE VIEW events AS SELECT * FROM {_reader(everything, format)}")  # noqa: S608
    return db
