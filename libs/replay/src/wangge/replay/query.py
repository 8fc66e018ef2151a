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

from wangge.replay.dataset import STATE


def _reader(files: str, format: str) -> str:
    if format == "jsonl":
        how = "format='newline_delimited', hive_partitioning=true, union_by_name=true"
        read = f"read_json_auto('{files}', {how})"
    else:
        read = f"read_parquet('{files}', hive_partitioning=true, union_by_name=true)"
    once = "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY event_offset) = 1"
    return f"(SELECT * FROM {read} {once})"  # noqa: S608  # the dataset's own paths


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
    for folder in types:
        event_type = folder.name.removeprefix("type=")
        parts = event_type.split(".")
        if len(parts) != 3:
            continue
        service, name = parts[1], parts[2]
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{service}"')
        files = str(folder.resolve()).replace("'", "''") + f"/*/*.{format}"
        # names and paths from the dataset's own folders, quoted: no caller's text
        db.execute(f'CREATE VIEW "{service}"."{name}" AS SELECT * FROM {_reader(files, format)}')  # noqa: S608
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
