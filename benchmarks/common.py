"""Shared pieces: settings from the environment, fresh schemas and topics, the sample event."""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import Catalogue, DomainEvent
from wangge.events.db import create_engine, normalise_url
from wangge.events.kafka import ensure_topics

# The sample event of the library's tests (libs/events/tests/events_samples.py), registered in a
# catalogue of its own so the benchmarks need nothing from the test tree.
catalogue = Catalogue()

EVENT_TYPE = "wangge.sample.Counted"


@catalogue.event("sample")
class Counted(DomainEvent):
    """A tick of a counter: the smallest event."""

    n: int


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(float(value)) if value else default


@dataclass(frozen=True)
class Settings:
    """Sizes and servers, from the environment (see docs/benchmarks.md)."""

    database_url: str
    kafka: str
    scale: float
    seconds: float
    warmup_seconds: float
    runs: int
    writers: int
    batch: int
    relay_events: int
    memory_events: int
    only: frozenset[str]
    keep: bool

    @classmethod
    def from_env(cls) -> Settings:
        database_url = os.environ.get("DATABASE_URL")
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not database_url or not kafka:
            raise SystemExit(
                "DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS must be set; run 'make bench', "
                "which starts the servers"
            )
        scale = _env_float("BENCH_SCALE", 1.0)
        only = os.environ.get("BENCH_ONLY", "")
        return cls(
            database_url=normalise_url(database_url),
            kafka=kafka,
            scale=scale,
            seconds=_env_float("BENCH_SECONDS", 3.0 * min(scale, 4.0)),
            warmup_seconds=_env_float("BENCH_WARMUP_SECONDS", 1.0),
            runs=_env_int("BENCH_RUNS", 5),
            writers=_env_int("BENCH_WRITERS", 16),
            batch=_env_int("BENCH_BATCH", 100),
            relay_events=_env_int("BENCH_RELAY_EVENTS", round(100_000 * scale)),
            memory_events=_env_int("BENCH_MEMORY_EVENTS", round(200_000 * scale)),
            only=frozenset(s.strip() for s in only.split(",") if s.strip()),
            keep=os.environ.get("BENCH_KEEP") == "1",
        )

    def wants(self, name: str) -> bool:
        """Whether the benchmark group ``name`` (append, batch, relay, memory) should run."""
        return not self.only or name in self.only

    @property
    def asyncpg_dsn(self) -> str:
        """The plain libpq-style URL asyncpg takes."""
        return make_url(self.database_url).set(drivername="postgresql").render_as_string(False)

    @property
    def pg_params(self) -> dict[str, Any]:
        """Host, port, user, password and database, for psycopg (the eventsourcing library)."""
        url = make_url(self.database_url)
        return {
            "host": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "user": url.username or "postgres",
            "password": url.password or "",
            "dbname": url.database or "postgres",
        }


def unique_name(prefix: str) -> str:
    """A random name for a schema, topic or consumer group."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def stream_name() -> str:
    """A stream id like the services use: ``counter-<uuid>``."""
    return f"counter-{uuid.uuid4()}"


def schema_engine(settings: Settings, schema: str, *, pool_size: int = 16) -> AsyncEngine:
    """The library's engine (``wangge.events.db.create_engine``) on one schema."""
    return create_engine(
        settings.database_url,
        pool_size=pool_size,
        connect_args={"server_settings": {"search_path": schema}},
    )


class Schemas:
    """Creates fresh PostgreSQL schemas and drops them all at the end (unless BENCH_KEEP=1)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.made: list[str] = []

    async def new(self, prefix: str) -> str:
        schema = unique_name(f"bench_{prefix}")
        conn = await asyncpg.connect(self.settings.asyncpg_dsn)
        try:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        finally:
            await conn.close()
        self.made.append(schema)
        return schema

    async def drop(self, schema: str) -> None:
        """Drop one schema made here (disk: a full-size registry is about a gigabyte)."""
        if self.settings.keep or schema not in self.made:
            return
        conn = await asyncpg.connect(self.settings.asyncpg_dsn)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
        self.made.remove(schema)

    async def drop_all(self) -> None:
        if self.settings.keep or not self.made:
            return
        conn = await asyncpg.connect(self.settings.asyncpg_dsn)
        try:
            for schema in self.made:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
        self.made.clear()


class Topics:
    """Creates fresh 12-partition topics (``ensure_topics``) and deletes them at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.made: list[str] = []

    async def new(self, prefix: str) -> str:
        topic = unique_name(f"bench.{prefix}")
        await ensure_topics(self.settings.kafka, [topic])
        self.made.append(topic)
        return topic

    async def delete_all(self) -> None:
        if self.settings.keep or not self.made:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka)
        await admin.start()
        try:
            await admin.delete_topics(self.made)
        finally:
            await admin.close()
        self.made.clear()


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[tuple[Schemas, Topics]]:
    """Fresh schemas and topics for one benchmark group, cleaned up afterwards."""
    schemas, topics = Schemas(settings), Topics(settings)
    try:
        yield schemas, topics
    finally:
        await schemas.drop_all()
        await topics.delete_all()


# Rows shaped exactly like the store's own appends of Counted(n=i): ten events per stream,
# 'counter-<uuid>' stream ids, metadata '{}' (no tracer provider is configured, so the store
# records no traceparent either). gen_random_uuid() stands in for the store's uuid7 event ids.
PREFILL_SQL = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, recorded_at, metadata, data)
SELECT 'counter-' || md5($3 || (g / 10)::text)::uuid,
       (g % 10) + 1,
       gen_random_uuid(),
       'wangge.sample.Counted',
       1,
       now(),
       '{}'::jsonb,
       jsonb_build_object('n', g)
FROM generate_series($1::bigint, $2::bigint) AS g
"""


async def prefill(settings: Settings, schema: str, count: int, *, chunk: int = 10_000) -> float:
    """Insert ``count`` events into ``schema``'s events table, ``chunk`` per transaction."""
    salt = uuid.uuid4().hex
    conn = await asyncpg.connect(settings.asyncpg_dsn, server_settings={"search_path": schema})
    started = time.perf_counter()
    try:
        for start in range(0, count, chunk):
            end = min(start + chunk, count) - 1
            await conn.execute(PREFILL_SQL, start, end, salt)
        await conn.execute("ANALYZE events")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def settle(settings: Settings, schema: str) -> None:
    """What an operator does after a bulk load or a rebuild, before measuring reads: the
    schema's tables vacuumed and analysed, dirty pages written (else autovacuum does it under
    the load, and the planner guesses without statistics)."""
    conn = await asyncpg.connect(settings.asyncpg_dsn, server_settings={"search_path": schema})
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", schema
        )
        for row in tables:
            # the names come from the catalogue, quoted as identifiers
            await conn.execute(f'VACUUM (ANALYZE) "{row["tablename"]}"')
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def create_store_tables(engine: AsyncEngine) -> None:
    """The event store's tables (the same DDL for our store and the raw-driver baseline)."""
    from wangge.events.store import PostgresEventStore

    store = PostgresEventStore(engine, service="bench", catalogue=catalogue)
    await store.create_schema()


@contextlib.contextmanager
def no_collector_pauses() -> Iterator[None]:
    """The load generator's own garbage collector off while it measures (as ``timeit`` does):
    a full pass over its thousands of pending requests stalled its event loop for 120-150 ms,
    and every answer due then was timed that much late. Inside a measurement that turned it
    off already, a no-op (so a phase may be measured alone or within a wider window)."""
    if not gc.isenabled():
        yield
        return
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def server_version(settings: Settings) -> str:
    """PostgreSQL's ``server_version``."""
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return str(await conn.scalar(sa.text("SHOW server_version")))
    finally:
        await engine.dispose()


@dataclass
class Measurement:
    """Several runs of one figure; the median is reported."""

    label: str
    unit: str
    values: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    def spread(self) -> str:
        if len(self.values) < 2:
            return ""
        return f"{min(self.values):,.0f}-{max(self.values):,.0f}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
