"""An idle reader of a SQLite event table asks the file's change watch, not the table, and still
sees every commit: of this process's other connections, and of other processes."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from wangge.events.db import create_engine, sqlite_url
from wangge.events.projection import ProjectionRunner
from wangge.events.sources import StoreSource
from wangge.events.store import EventStore, open_store
from wangge.events.store.changes import change_watch

from events_projections import CountsProjection
from events_samples import Counted, catalogue

NEVER = 3600.0
"""A recheck so far off that only the watch can make a quiet source read again."""


async def _store(engine: AsyncEngine) -> EventStore:
    store = open_store(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    return store


def _count_reads(store: EventStore) -> list[str]:
    """The statements that read the store's event table from now on, as they run."""
    reads: list[str] = []
    table = store.tables.events.name

    @sa.event.listens_for(store.engine.sync_engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            reads.append(statement)

    return reads


def _remove(folder: Path, pattern: str) -> None:
    for leftover in folder.glob(pattern):
        leftover.unlink()


def _database(engine: AsyncEngine) -> str:
    database = engine.url.database
    assert database is not None
    return database


async def test_the_watch_sees_a_commit_of_another_connection_of_this_process(
    sqlite_engine: AsyncEngine,
) -> None:
    store = await _store(sqlite_engine)
    watch = change_watch(sqlite_engine)
    assert watch is not None
    before = watch.version()
    assert watch.version() == before  # nothing committed: the same answer
    await store.append(f"counter-{uuid.uuid4()}", [Counted(n=1)], expected_version=None)
    assert watch.version() != before


async def test_the_watch_sees_a_commit_of_another_process(sqlite_engine: AsyncEngine) -> None:
    await _store(sqlite_engine)
    watch = change_watch(sqlite_engine)
    assert watch is not None
    before = watch.version()
    writer = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute('CREATE TABLE elsewhere (x INTEGER)')\n"
        "c.commit()\n"
    )
    writing = await asyncio.create_subprocess_exec(
        sys.executable, "-c", writer, _database(sqlite_engine)
    )
    assert await writing.wait() == 0
    assert watch.version() != before


async def test_readers_of_one_file_share_one_watch(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "shared.db")
    first, second = create_engine(url), create_engine(url)
    try:
        await _store(first)
        assert change_watch(first) is change_watch(second)
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_file_made_anew_at_the_same_path_gets_a_watch_of_its_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "remade.db"
    engine = create_engine(sqlite_url(path))
    await _store(engine)
    old = change_watch(engine)
    await engine.dispose()
    await asyncio.to_thread(_remove, tmp_path, "remade.db*")
    engine = create_engine(sqlite_url(path))
    try:
        await _store(engine)
        assert change_watch(engine) is not old
    finally:
        await engine.dispose()


async def test_postgresql_and_in_memory_sqlite_have_no_watch() -> None:
    # neither engine connects: a watch is decided from the URL alone
    memory = create_async_engine("sqlite+aiosqlite:///:memory:")
    postgres = create_async_engine("postgresql+asyncpg://wangge@localhost/wangge")
    try:
        assert change_watch(memory) is None
        assert change_watch(postgres) is None
    finally:
        await memory.dispose()
        await postgres.dispose()


async def test_a_source_that_found_nothing_reads_again_only_after_a_commit(
    sqlite_engine: AsyncEngine,
) -> None:
    store = await _store(sqlite_engine)
    stream = f"counter-{uuid.uuid4()}"
    await store.append(stream, [Counted(n=1)], expected_version=None)
    source = StoreSource(store, idle_seconds=0, recheck_seconds=NEVER)
    reads = _count_reads(store)

    first = await source.fetch({}, 100)
    stored = {source.key: first[-1].position}
    assert await source.fetch(stored, 100) == []
    queried = len(reads)
    for _ in range(20):
        assert await source.fetch(stored, 100) == []
    assert len(reads) == queried  # idle: no query at all

    await store.append(stream, [Counted(n=2)], expected_version=None)
    queried = len(reads)  # the append reads the stream's head itself
    batch = await source.fetch(stored, 100)
    assert [e.event.envelope.sequence for e in batch] == [2]
    assert len(reads) == queried + 1


async def test_a_quiet_source_reads_again_once_the_recheck_is_due(
    sqlite_engine: AsyncEngine,
) -> None:
    store = await _store(sqlite_engine)
    source = StoreSource(store, idle_seconds=0, recheck_seconds=0.2)
    reads = _count_reads(store)
    assert await source.fetch({}, 100) == []
    assert await source.fetch({}, 100) == []
    assert len(reads) == 1
    await asyncio.sleep(0.25)
    assert await source.fetch({}, 100) == []
    assert len(reads) == 2


async def test_a_source_asked_from_another_place_reads_though_nothing_was_committed(
    sqlite_engine: AsyncEngine,
) -> None:
    # a runner that follows a rebuild's generation starts over from that generation's positions
    store = await _store(sqlite_engine)
    await store.append(f"counter-{uuid.uuid4()}", [Counted(n=1)], expected_version=None)
    source = StoreSource(store, idle_seconds=0, recheck_seconds=NEVER)
    first = await source.fetch({}, 100)
    assert await source.fetch({source.key: first[-1].position}, 100) == []
    assert [e.position for e in await source.fetch({}, 100)] == [first[-1].position]


async def test_a_runner_gone_idle_applies_an_event_appended_later_within_moments(
    sqlite_engine: AsyncEngine,
) -> None:
    store = await _store(sqlite_engine)
    stream = f"counter-{uuid.uuid4()}"
    await store.append(stream, [Counted(n=1)], expected_version=None)
    projection = CountsProjection(f"idle_{uuid.uuid4().hex[:8]}")
    source = StoreSource(store, idle_seconds=0.05, recheck_seconds=NEVER)
    runner = ProjectionRunner(projection, engine=sqlite_engine, source=source)
    await runner.setup()
    reads = _count_reads(store)

    async def applied(count: int) -> bool:
        counts = await projection.snapshot(sqlite_engine)
        return stream in counts and counts[stream][0] == count

    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        await _until(lambda: applied(1), seconds=5)
        await asyncio.sleep(0.5)  # idle for ten fetches and more
        idle_reads = len(reads)
        await asyncio.sleep(0.5)
        assert len(reads) == idle_reads

        await store.append(stream, [Counted(n=2)], expected_version=None)
        await _until(lambda: applied(2), seconds=2)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def _until(condition: Callable[[], Awaitable[bool]], *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s")
        await asyncio.sleep(0.02)
