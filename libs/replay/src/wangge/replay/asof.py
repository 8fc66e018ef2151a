"""``--as-of DATE``: registered projections rebuilt from the log as it stood at the end of that
day (China Standard Time), and their tables written beside the events, pseudonymised by the
same policy, so an analyst asks "how many floating residents did grid 003-004 have on 30 June"
of the views the services keep, as they were then.

"As it stood" is what the system knew: every event recorded by then, whatever day it speaks
of. A projection is rebuilt in a temporary SQLite database by its own runner, from the whole
log (not only the export's span), events recorded later stepped over; its active tables are then
written a file each, ``as_of=<day>/projection=<name>/table=<key>/part-0.parquet``. A table's
columns are read through the policy by name, as a field of an event is: identifiers are hashed
with the export's key (so they join with the events), free text dropped unless named.
"""

from __future__ import annotations

import contextlib
import importlib
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition

from wangge.events.db import create_engine
from wangge.events.kafka import topic_for
from wangge.events.projection import Projection, ProjectionRunner, active_tables
from wangge.events.sources import (
    MergedSource,
    PositionLoader,
    Source,
    SourcedEvent,
    StoreSource,
    skipped,
)
from wangge.events.store import EventStore, open_store
from wangge.governance.hotline_figures import CST
from wangge.replay.dataset import write_atomically
from wangge.replay.messages import stored_event
from wangge.replay.plan import Hash
from wangge.replay.policy import Action, Kind, Policy
from wangge.replay.vector import mapped


def end_of(day: date) -> datetime:
    """The first instant after ``day`` in China Standard Time."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=CST)


def load_projection(spec: str) -> Projection:
    """``module:attribute`` of a projection, or of a factory of one taking no arguments."""
    module, _, attribute = spec.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    projection = found() if callable(found) and not isinstance(found, Projection) else found
    if not isinstance(projection, Projection):
        raise ValueError(f"{spec} is not a projection (module:attribute)")
    return projection


class Recorded(Source):
    """Another source's events recorded before ``cutoff``; each later one stepped over (its
    position kept, nothing applied), so the rebuild ends where the log ends."""

    def __init__(self, inner: Source, cutoff: datetime) -> None:
        self.inner = inner
        self.cutoff = cutoff

    async def start(self, load_positions: PositionLoader) -> None:
        await self.inner.start(load_positions)

    async def stop(self) -> None:
        await self.inner.stop()

    async def fetch(self, stored: Mapping[str, str], max_records: int) -> list[SourcedEvent]:
        batch = await self.inner.fetch(stored, max_records)
        return [
            one
            if one.fault is not None or one.event.envelope.time < self.cutoff
            else SourcedEvent(one.source_key, one.position, _later(one))
            for one in batch
        ]

    async def lag(self, stored: Mapping[str, str]) -> int:
        return await self.inner.lag(stored)

    def fresh(self) -> Recorded:
        return Recorded(self.inner.fresh(), self.cutoff)

    def narrow(self, types: frozenset[str]) -> Recorded:
        return Recorded(self.inner.narrow(types), self.cutoff)


def _later(one: SourcedEvent) -> Any:
    return skipped(one.event.envelope.type.encode())


class BoundedKafka(Source):
    """Topics read from their beginning to the ends they had when asked, by a consumer of no
    group; a fetch hands out nothing only once every partition is read to its end."""

    def __init__(self, bootstrap_servers: str, topics: Sequence[str]) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = list(topics)
        self._consumer: AIOKafkaConsumer | None = None
        self._ends: dict[TopicPartition, int] = {}

    @staticmethod
    def key(tp: TopicPartition) -> str:
        return f"{tp.topic}/{tp.partition}"

    async def start(self, load_positions: PositionLoader) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False,
            isolation_level="read_committed",
        )  # fmt: skip
        await consumer.start()
        self._consumer = consumer
        parts = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(parts)
        self._ends = {tp: end for tp, end in (await consumer.end_offsets(parts)).items()}
        stored = await load_positions()
        for tp in parts:
            at = stored.get(self.key(tp))
            if at is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, int(at) + 1)

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _left(self) -> list[TopicPartition]:
        assert self._consumer is not None
        return [tp for tp, end in self._ends.items() if await self._consumer.position(tp) < end]

    async def fetch(self, stored: Mapping[str, str], max_records: int) -> list[SourcedEvent]:
        assert self._consumer is not None
        while left := await self._left():
            batch = await self._consumer.getmany(*left, timeout_ms=500, max_records=max_records)
            found = [
                SourcedEvent(self.key(tp), str(m.offset), stored_event(m))
                for tp, messages in batch.items()
                for m in messages
                if m.offset < self._ends[tp]
            ]
            if found:
                return found
        return []

    async def lag(self, stored: Mapping[str, str]) -> int:
        return sum(
            max(0, end - int(stored.get(self.key(tp), -1)) - 1) for tp, end in self._ends.items()
        )

    def fresh(self) -> BoundedKafka:
        return BoundedKafka(self.bootstrap_servers, self.topics)


def _kind_of(column: sa.Column[Any]) -> tuple[pa.DataType, str]:
    kind = column.type
    if isinstance(kind, sa.Uuid):
        return pa.string(), "uuid"
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us", tz="UTC"), "keep"
    if isinstance(kind, sa.Date):
        return pa.date32(), "keep"
    if isinstance(kind, sa.Boolean):
        return pa.bool_(), "keep"
    if isinstance(kind, sa.Integer):
        return pa.int64(), "keep"
    if isinstance(kind, sa.Float | sa.Numeric):
        return pa.float64(), "keep"
    if isinstance(kind, sa.String):
        return pa.string(), "text"
    return pa.string(), "union"


def _action(policy: Policy, scope: str, name: str, kind: str) -> Action:
    rules = [r for r in policy.rules(scope, name) if not r.when]
    if rules:
        return rules[0].action
    if kind == "uuid":
        return policy.default(Kind.IDENTIFIER)
    if kind == "text":
        return policy.default(Kind.TEXT)
    if kind == "union":
        return policy.default(Kind.UNION)
    return Action.KEEP


def table_file(
    scope: str, table: sa.Table, rows: Sequence[Any], policy: Policy, hash_: Hash
) -> pa.Table:
    """A projection table's rows through the policy, by column name (``scope``,
    ``<projection>.<table>``, names the table's own rules, as an event type does its fields')."""
    arrays, fields = [], []
    for column in table.columns:
        kind, shape = _kind_of(column)
        action = _action(policy, scope, column.name, shape)
        if action is Action.DROP:
            continue
        values = [row._mapping[column.name] for row in rows]
        if shape == "uuid" or action is Action.HASH:
            written = mapped(hash_, pa.string())(pa.array([_text(v) for v in values], pa.string()))
        elif shape == "union":
            written = pa.array([None if v is None else str(v) for v in values], pa.string())
        else:
            written = pa.array(values, kind)
        arrays.append(written)
        fields.append(pa.field(column.name, written.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def write_as_of(
    out: Path,
    day: date,
    specs: Sequence[str],
    policy: Policy,
    hash_: Hash,
    *,
    bootstrap_servers: str | None,
    namespace: str,
    data_dir: Path | None,
) -> dict[str, int]:
    """Rebuild each projection as of the end of ``day`` and write its tables; rows per table."""
    cutoff = end_of(day)
    written: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="wangge-as-of-") as scratch:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(scratch) / 'as_of.db'}")
        stores: list[EventStore] = []
        try:
            for spec in specs:
                projection = load_projection(spec)
                topics = [topic_for(service, namespace) for service in projection.reads]
                inner: Source
                if bootstrap_servers is not None:
                    inner = BoundedKafka(bootstrap_servers, topics)
                else:
                    assert data_dir is not None
                    tables = []
                    for service in projection.reads:
                        path = data_dir / f"{service}.db"
                        if not path.exists():
                            continue
                        store = open_store(
                            create_engine(f"sqlite+aiosqlite:///{path}"), service=service,
                            catalogue=projection.catalogue,
                        )  # fmt: skip
                        stores.append(store)
                        tables.append(StoreSource(store, key=topic_for(service), idle_seconds=0))
                    inner = MergedSource(tables, idle_seconds=0)
                runner = ProjectionRunner(
                    projection, engine=engine, source=Recorded(inner, cutoff), batch_size=1000
                )
                await runner.rebuild()
                async with engine.connect() as conn:
                    for key, table in (await active_tables(conn, projection)).items():
                        rows = (await conn.execute(sa.select(table))).all()
                        scope = f"{projection.name}.{key}"
                        made = table_file(scope, table, rows, policy, hash_)
                        folder = (
                            out / f"as_of={day.isoformat()}" / f"projection={projection.name}"
                            / f"table={key}"
                        )  # fmt: skip
                        sink = pa.BufferOutputStream()
                        pq.write_table(made, sink, compression="zstd")
                        write_atomically(folder / "part-0.parquet", bytes(sink.getvalue()))
                        written[scope] = len(rows)
        finally:
            for store in stores:
                await store.engine.dispose()
            await engine.dispose()
    return written
