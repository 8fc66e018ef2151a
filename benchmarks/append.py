"""Append throughput on PostgreSQL: our store, raw asyncpg, and the eventsourcing library.

Every contender writes the same rows: small ``Counted(n=i)`` payloads, ten events per
``counter-<uuid>`` stream, each writer on streams of its own. Single appends are one event per
transaction; batched appends are ``batch`` events of one stream per transaction. Each contender
gets a fresh schema; all are warmed up, then timed for ``seconds`` per run, the runs interleaved
across contenders so that drift on a shared machine hits them alike.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import (
    EVENT_TYPE,
    Counted,
    Measurement,
    Schemas,
    Settings,
    catalogue,
    create_store_tables,
    resources,
    schema_engine,
    stream_name,
)
from wangge.events.envelope import new_event_id
from wangge.events.store import NO_STREAM, PostgresEventStore

PER_STREAM = 10
"""Events per stream in the single-event benchmarks; then the writer starts a new stream."""

INSERT_SQL = (
    "INSERT INTO events (stream_id, version, event_id, type, schema_version, recorded_at, "
    "metadata, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)


class Contender(ABC):
    """One way of appending events, set up on its own schema."""

    name: str
    key: str

    def __init__(self, settings: Settings, schemas: Schemas, *, batch: int) -> None:
        self.settings = settings
        self.schemas = schemas
        self.batch = batch

    @abstractmethod
    async def setup(self) -> None: ...

    @abstractmethod
    async def run(self, writers: int, deadline: float) -> int:
        """Append until ``deadline`` with ``writers`` concurrent writers; events written."""

    async def close(self) -> None:
        return None


class Ours(Contender):
    """``PostgresEventStore.append`` on the library's engine (``create_engine``, pool of 16)."""

    name = "Wangge PostgresEventStore"
    key = "ours"
    engine: AsyncEngine

    def make_engine(self, schema: str) -> AsyncEngine:
        return schema_engine(self.settings, schema, pool_size=max(16, self.settings.writers))

    async def setup(self) -> None:
        schema = await self.schemas.new(self.key)
        self.engine = self.make_engine(schema)
        await create_store_tables(self.engine)
        self.store = PostgresEventStore(self.engine, service="bench", catalogue=catalogue)

    async def _writer(self, deadline: float) -> int:
        count = 0
        store = self.store
        while time.perf_counter() < deadline:
            stream = stream_name()
            if self.batch > 1:
                events = [Counted(n=count + i) for i in range(self.batch)]
                await store.append(stream, events, expected_version=NO_STREAM)
                count += self.batch
                continue
            for version in range(PER_STREAM):
                await store.append(stream, [Counted(n=count)], expected_version=version)
                count += 1
                if time.perf_counter() >= deadline:
                    break
        return count

    async def run(self, writers: int, deadline: float) -> int:
        counts = await asyncio.gather(*(self._writer(deadline) for _ in range(writers)))
        return sum(counts)

    async def close(self) -> None:
        await self.engine.dispose()


class RawAsyncpg(Contender):
    """asyncpg alone: an identical ``events`` table, one INSERT (or executemany) per transaction.

    Each writer holds one pooled connection for its whole run (releasing an asyncpg connection
    runs a reset query, a round trip the minimal baseline should not pay).
    """

    name = "raw asyncpg"
    key = "raw"

    async def setup(self) -> None:
        schema = await self.schemas.new(self.key)
        engine = schema_engine(self.settings, schema, pool_size=1)
        await create_store_tables(engine)  # the very same DDL as our store's
        await engine.dispose()
        size = max(16, self.settings.writers)
        self.pool = await asyncpg.create_pool(
            self.settings.asyncpg_dsn,
            min_size=size,
            max_size=size,
            server_settings={"search_path": schema},
        )

    def _row(self, stream: str, version: int, n: int, now: datetime) -> tuple[Any, ...]:
        return (
            stream,
            version,
            new_event_id(),
            EVENT_TYPE,
            1,
            now,
            "{}",
            json.dumps({"n": n}),
        )

    async def _writer(self, deadline: float) -> int:
        count = 0
        async with self.pool.acquire() as conn:
            while time.perf_counter() < deadline:
                stream = stream_name()
                if self.batch > 1:
                    now = datetime.now(UTC)
                    rows = [self._row(stream, v, count + v, now) for v in range(1, self.batch + 1)]
                    async with conn.transaction():
                        await conn.executemany(INSERT_SQL, rows)
                    count += self.batch
                    continue
                for version in range(1, PER_STREAM + 1):
                    # one statement outside a transaction block is one transaction
                    await conn.execute(
                        INSERT_SQL, *self._row(stream, version, count, datetime.now(UTC))
                    )
                    count += 1
                    if time.perf_counter() >= deadline:
                        break
        return count

    async def run(self, writers: int, deadline: float) -> int:
        counts = await asyncio.gather(*(self._writer(deadline) for _ in range(writers)))
        return sum(counts)

    async def close(self) -> None:
        await self.pool.close()


class EventSourcing(Contender):
    """The eventsourcing library's PostgreSQL recorder (psycopg 3, synchronous: one thread each).

    ``insert_events`` of one ``StoredEvent`` (or ``batch`` of them) per call; originator ids are
    text, so the stream ids and JSON payloads are the same as ours.
    """

    recorder_class: Any
    name = "eventsourcing"
    key = "es"

    async def setup(self) -> None:
        from eventsourcing.postgres import PostgresDatastore

        schema = await self.schemas.new(self.key)
        size = max(16, self.settings.writers)

        def make() -> None:
            self.datastore = PostgresDatastore(
                **self.settings.pg_params,
                schema=schema,
                pool_size=size,
                originator_id_type="text",
            )
            self.recorder = self.recorder_class(self.datastore, events_table_name="stored_events")
            self.recorder.create_table()

        await asyncio.to_thread(make)

    def _writer(self, deadline: float) -> int:
        from eventsourcing.persistence import StoredEvent

        count = 0
        recorder = self.recorder
        while time.perf_counter() < deadline:
            stream = stream_name()
            if self.batch > 1:
                recorder.insert_events(
                    [
                        StoredEvent(stream, v, EVENT_TYPE, json.dumps({"n": count + v}).encode())
                        for v in range(1, self.batch + 1)
                    ]
                )
                count += self.batch
                continue
            for version in range(1, PER_STREAM + 1):
                state = json.dumps({"n": count}).encode()
                recorder.insert_events([StoredEvent(stream, version, EVENT_TYPE, state)])
                count += 1
                if time.perf_counter() >= deadline:
                    break
        return count

    def _run_threads(self, writers: int, deadline: float) -> int:
        with ThreadPoolExecutor(writers, thread_name_prefix="es-writer") as pool:
            return sum(pool.map(lambda _: self._writer(deadline), range(writers)))

    async def run(self, writers: int, deadline: float) -> int:
        return await asyncio.to_thread(self._run_threads, writers, deadline)

    async def close(self) -> None:
        await asyncio.to_thread(self.datastore.close)


class EventSourcingApplication(EventSourcing):
    """``PostgresApplicationRecorder``: a gap-free, totally ordered notification log.

    This is the like-for-like peer of our store, whose log is also followed in commit order (by
    the outbox relay). It serialises writers with ``LOCK TABLE ... IN EXCLUSIVE MODE``.
    """

    name = "eventsourcing ApplicationRecorder"
    key = "es_app"

    @property
    def recorder_class(self) -> Any:
        from eventsourcing.postgres import PostgresApplicationRecorder

        return PostgresApplicationRecorder


class EventSourcingAggregate(EventSourcing):
    """``PostgresAggregateRecorder``: streams only, no global order (nothing could relay it)."""

    name = "eventsourcing AggregateRecorder"
    key = "es_agg"

    @property
    def recorder_class(self) -> Any:
        from eventsourcing.postgres import PostgresAggregateRecorder

        return PostgresAggregateRecorder


CONTENDERS: list[type[Contender]] = [
    Ours,
    RawAsyncpg,
    EventSourcingApplication,
    EventSourcingAggregate,
]


async def _measure(
    settings: Settings,
    contenders: list[Contender],
    writers: int,
    label: str,
    log: Any,
) -> dict[str, Measurement]:
    results = {c.key: Measurement(f"{c.name}, {label}", "events/s") for c in contenders}
    for c in contenders:  # warm-up: connections, prepared statements, caches
        await c.run(writers, time.perf_counter() + settings.warmup_seconds)
    for run in range(settings.runs):
        for c in contenders:
            started = time.perf_counter()
            count = await c.run(writers, started + settings.seconds)
            elapsed = time.perf_counter() - started
            rate = count / elapsed
            results[c.key].values.append(rate)
            log(f"  {label:<22} run {run + 1}: {c.name:<34} {rate:>10,.0f} events/s")
    return results


async def bench_single(
    settings: Settings, log: Any, classes: list[type[Contender]] = CONTENDERS
) -> dict[str, Measurement]:
    """One event per transaction, 1 and ``writers`` writers; keys like ``ours/1``."""
    out: dict[str, Measurement] = {}
    for writers in (1, settings.writers):
        async with resources(settings) as (schemas, _):
            contenders = [cls(settings, schemas, batch=1) for cls in classes]
            try:
                for c in contenders:
                    await c.setup()
                label = f"{writers} writer{'s' if writers > 1 else ''}"
                results = await _measure(settings, contenders, writers, label, log)
            finally:
                for c in contenders:
                    await c.close()
        out.update({f"{key}/{writers}": m for key, m in results.items()})
    return out


async def bench_batched(
    settings: Settings, log: Any, classes: list[type[Contender]] = CONTENDERS
) -> dict[str, Measurement]:
    """``batch`` events per transaction, one writer; keys like ``ours/batch``."""
    async with resources(settings) as (schemas, _):
        contenders = [cls(settings, schemas, batch=settings.batch) for cls in classes]
        try:
            for c in contenders:
                await c.setup()
            label = f"{settings.batch}/tx, 1 writer"
            results = await _measure(settings, contenders, 1, label, log)
        finally:
            for c in contenders:
                await c.close()
    return {f"{key}/batch": m for key, m in results.items()}
