"""Exporting from the embedded default: each service's SQLite event table under the data folder
stands for its topic (one partition, the table's positions for offsets).

SQLite has one writer at a time and hands out positions inside its write lock, so a position is
visible only after every smaller one: reading ``position > last`` loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.catalogue import Catalogue
from wangge.events.db import create_engine
from wangge.events.envelope import Checkpoint
from wangge.events.kafka import topic_for
from wangge.events.store import open_store
from wangge.events.store.tables import UTCDateTime
from wangge.replay.chunks import PartitionExport
from wangge.replay.dataset import Bounds, Dataset, Manifest
from wangge.replay.rows import Rows, record_of

PARTITION = 0
READ = 5000


def table_files(data_dir: Path, topics: list[str] | None) -> Iterator[tuple[str, Path]]:
    """(topic, database file) of each service's event table under ``data_dir``."""
    for path in sorted(data_dir.glob("*.db")):
        topic = topic_for(path.stem)
        if topics is None or topic in topics:
            yield topic, path


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def table_bounds(
    data_dir: Path,
    topics: list[str] | None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, dict[int, Bounds]]:
    """Each table's positions between ``since`` and ``until`` (by the time each event was
    recorded: on SQLite positions follow it)."""
    out: dict[str, dict[int, Bounds]] = {}
    for topic, path in table_files(data_dir, topics):
        engine = create_engine(_url(path))
        try:
            async with engine.connect() as conn:
                exists = await conn.run_sync(lambda sync: sa.inspect(sync).has_table("events"))
                if not exists:
                    continue
                events = sa.table("events", sa.column("position"), sa.column("recorded_at"))
                last = await conn.scalar(sa.select(sa.func.max(events.c.position)))
                end = (last or 0) + 1
                start = 1
                if since is not None:
                    start = await _first_at(conn, events, since) or end
                if until is not None:
                    end = await _first_at(conn, events, until) or end
            out[topic] = {PARTITION: Bounds(start, max(start, end))}
        finally:
            await engine.dispose()
    if topics is not None:
        missing = set(topics) - set(out)
        if missing:
            raise LookupError(f"no event table under {data_dir} for {', '.join(sorted(missing))}")
    return out


async def _first_at(conn: AsyncConnection, events: sa.TableClause, moment: datetime) -> int | None:
    # compared through the store's own column type, which keeps times as UTC
    query = sa.select(sa.func.min(events.c.position)).where(
        sa.column("recorded_at", UTCDateTime) >= moment
    )
    found: int | None = await conn.scalar(query)
    return found


async def table_worker(
    dataset: Dataset,
    manifest: Manifest,
    rows: Rows,
    data_dir: Path,
    catalogue: Catalogue,
    *,
    share: Callable[[str], bool] = lambda topic: True,
) -> int:
    """Export this worker's share of the tables; the events gathered."""
    gathered = 0
    files = dict(table_files(data_dir, sorted(manifest.sources)))
    for topic, partition, bounds in manifest.units():
        if not share(topic) or topic not in files:
            continue
        export = PartitionExport(
            dataset, rows, topic, partition, bounds, chunk=manifest.chunk, format=manifest.format
        )
        engine = create_engine(_url(files[topic]))
        store = open_store(engine, service=topic.split(".")[1], catalogue=catalogue)
        try:
            while not export.done:
                batch = await store.read_all(Checkpoint(0, export.position - 1), limit=READ)
                export.add([record_of(e, partition, e.checkpoint.position) for e in batch])
                export.reached(batch[-1].checkpoint.position + 1 if batch else bounds.end)
        finally:
            await engine.dispose()
        gathered += export.events
    return gathered
