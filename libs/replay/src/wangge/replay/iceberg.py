"""A finished dataset published to Apache Iceberg tables, for the engines past one machine
(Spark, Trino, Flink) and for time travel by snapshot.

One table per event type, ``<namespace>.<service>__<Event>`` in a SQL catalog (SQLite or
PostgreSQL, pyiceberg's ``SqlCatalog``), holding the type's events once each, as the DuckDB views
show them. A publish replaces a table's rows with the dataset's in one snapshot (the rows are
copied into the catalog's warehouse: the dataset's own files are rewritten in place when an
export is extended, which an older snapshot must never see). So a run killed in the middle and
run again publishes the same tables, a type whose files did not change since the last publish
gets no new snapshot, and each earlier snapshot is the dataset as it was at an earlier publish.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError

from wangge.replay.dataset import STATE, Dataset
from wangge.replay.query import PARTITIONS, connect

FILES = "wangge.replay.files"
"""The snapshot property naming the dataset's files a publish copied (a digest)."""


class IcebergError(ValueError):
    """A dataset that cannot be published as it stands; the message says why."""


def catalog(uri: str, warehouse: Path) -> SqlCatalog:
    """The SQL catalog at ``uri`` (``sqlite:///…``, ``postgresql+psycopg://…``), its tables'
    files under ``warehouse``."""
    warehouse.mkdir(parents=True, exist_ok=True)
    return SqlCatalog("wangge", uri=uri, warehouse=warehouse.resolve().as_uri())


def publish(
    dataset: Path, uri: str, *, namespace: str = "wangge_replay", warehouse: Path | None = None
) -> dict[str, int]:
    """Publish a finished dataset's event types; the rows of each table published (types whose
    files did not change since the last publish are left as they are, and not counted)."""
    manifest = Dataset(dataset).manifest()
    if manifest is None or not Dataset(dataset).finished(manifest):
        raise IcebergError(f"{dataset} holds no finished export: run the export to its end first")
    if manifest.format != "parquet":
        raise IcebergError("only a Parquet dataset is published to Iceberg")
    tables = catalog(uri, warehouse or dataset / STATE / "iceberg")
    tables.create_namespace_if_not_exists(namespace)
    published: dict[str, int] = {}
    with connect(dataset) as db:
        for folder in sorted(dataset.glob("topic=*/type=*")):
            parts = folder.name.removeprefix("type=").split(".")
            if len(parts) != 3:
                continue  # not an event of ours (``_unreadable``): nothing to type it by
            files = sorted(folder.glob("*/*.parquet"))
            digest = _digest(folder, files)
            identifier = (namespace, f"{parts[1]}__{parts[2]}")
            try:
                table = tables.load_table(identifier)
            except NoSuchTableError:
                table = None
            current = None if table is None else table.current_snapshot()
            if current is not None and current.summary and current.summary.get(FILES) == digest:
                continue
            own = set(pq.read_schema(files[0]).names)
            columns = ", ".join(
                f'"{name}"'
                for name in db.sql(f'SELECT * FROM "{parts[1]}"."{parts[2]}" LIMIT 0').columns  # noqa: S608
                if name in own or name not in PARTITIONS
            )
            query = f'SELECT {columns} FROM "{parts[1]}"."{parts[2]}"'  # noqa: S608  # own folders
            rows = db.sql(query).to_arrow_table()
            schema = _utc(rows.schema)
            if table is None:
                table = tables.create_table(identifier, schema=schema)
            else:
                with table.update_schema() as update:
                    update.union_by_name(schema)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deleting from an empty table: not a fault
                table.overwrite(rows.cast(schema), snapshot_properties={FILES: digest})
            published[".".join(identifier)] = rows.num_rows
    return published


def _digest(folder: Path, files: list[Path]) -> str:
    """Names the files as they are: each one's path, size and modification time."""
    seen = hashlib.sha256()
    for path in files:
        stat = path.stat()
        seen.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return seen.hexdigest()


def _utc(schema: pa.Schema) -> pa.Schema:
    """The schema with times in UTC (DuckDB hands them over in the session's zone; Iceberg's
    ``timestamptz`` is UTC) and text as Arrow's plain strings."""
    fields = []
    for field in schema:
        kind = field.type
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            kind = pa.timestamp("us", tz="UTC")
        elif pa.types.is_large_string(kind):
            kind = pa.string()
        fields.append(pa.field(field.name, kind, field.nullable))
    return pa.schema(fields)
