"""The event store: one interface, shared SQL, and the two backends' differences in subclasses."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import sqlalchemy as sa
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.events import metrics
from wangge.events.catalogue import Catalogue, CatalogueEntry, dataschema_for, default_catalogue
from wangge.events.envelope import (
    START,
    Checkpoint,
    Envelope,
    Metadata,
    RecordedEvent,
    decode_data,
    encode_data,
    new_event_id,
)
from wangge.events.errors import ConcurrencyConflict, IdempotencyKeyReused
from wangge.events.model import DomainEvent
from wangge.events.store.tables import StoreTables, build_tables
from wangge.events.telemetry import current_traceparent, tracer, tracing_enabled

NO_STREAM = 0
"""``expected_version`` for a command that creates its stream."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append wrote; a retried command with the same idempotency key gets it again."""

    stream_id: str
    first_version: int
    last_version: int
    event_ids: tuple[UUID, ...]
    replayed: bool = False
    recorded_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored form of the result, under its idempotency key."""
        out = asdict(self)
        out["event_ids"] = [str(i) for i in self.event_ids]
        out["recorded_at"] = self.recorded_at.isoformat() if self.recorded_at else None
        del out["replayed"]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AppendResult:
        """The inverse of :meth:`to_json`, marked as replayed."""
        return cls(
            stream_id=data["stream_id"],
            first_version=data["first_version"],
            last_version=data["last_version"],
            event_ids=tuple(UUID(i) for i in data["event_ids"]),
            replayed=True,
            recorded_at=(
                datetime.fromisoformat(data["recorded_at"]) if data.get("recorded_at") else None
            ),
        )


@dataclass(frozen=True, slots=True)
class StreamAppend:
    """One stream's part of a batch append: its new events, after ``expected_version``."""

    stream_id: str
    events: Sequence[DomainEvent]
    expected_version: int
    metadata: Metadata | None = None
    """This stream's own metadata (commands grouped into one transaction each keep their actor,
    correlation and trace); None: the batch's."""
    idempotency_key: str | None = None
    """Recorded with the append, as a single append records it, so that a retry of what caused
    it finds this result. Only for a stream the batch starts: a stream that does not exist yet
    cannot have been appended to under the key, so a key found taken fails the batch as a
    conflict (the caller reads afresh and finds it), instead of the batch looking each one up."""
    fingerprint: str | None = None
    """What identifies the request behind ``idempotency_key`` (None: its events)."""


def check_keyed(appends: Sequence[StreamAppend]) -> None:
    """Refuse a key on a stream the batch extends: its key may be recorded already, and only a
    lookup per append (what a batch saves) could tell."""
    if any(a.idempotency_key is not None and a.expected_version for a in appends):
        raise ValueError("a batch append keys only the streams it starts")


class ColumnsByName(Protocol):
    """A result row by column name: SQLAlchemy's ``RowMapping`` or an asyncpg ``Record``."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class NewRow:
    """One event of an append, validated and given its id."""

    event_id: UUID
    type: str
    schema_version: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PendingAppend:
    """An append after validation, as the backends write it."""

    stream_id: str
    expected_version: int | None
    events: list[NewRow]
    metadata: dict[str, str]
    recorded_at: datetime
    idempotency_key: str | None
    fingerprint: str

    def result(self, first_version: int, recorded_at: datetime | None = None) -> AppendResult:
        """The result of writing this append from ``first_version`` on (at ``recorded_at``, when
        a batch wrote it with others, else at its own time)."""
        return AppendResult(
            stream_id=self.stream_id,
            first_version=first_version,
            last_version=first_version + len(self.events) - 1,
            event_ids=tuple(e.event_id for e in self.events),
            recorded_at=recorded_at or self.recorded_at,
        )


class StoredEvent:
    """A row of the log before decoding: readers decode only the types they handle.

    The data is kept in whichever form it arrived (a dict from a query, JSON text from a raw
    query or a Kafka message) and turned into the other only when asked, so the relay can pass
    recorded JSON through and a projection never parses an event it does not handle.
    """

    __slots__ = ("_data", "_json", "checkpoint", "envelope", "schema_version")

    def __init__(
        self,
        envelope: Envelope,
        schema_version: int,
        checkpoint: Checkpoint,
        *,
        data: dict[str, Any] | None = None,
        json_data: bytes | None = None,
    ) -> None:
        if data is None and json_data is None:
            raise ValueError("a stored event needs its data")
        self.envelope = envelope
        self.schema_version = schema_version
        self.checkpoint = checkpoint
        self._data = data
        self._json = json_data

    @property
    def data(self) -> dict[str, Any]:
        """The data as recorded (at ``schema_version``)."""
        if self._data is None:
            assert self._json is not None
            self._data = decode_data(self._json)
        return self._data

    @property
    def unparsed(self) -> bytes | None:
        """The data's JSON when it came as such and nothing has parsed it yet (a reader model
        validates it straight from the text, with no dict in between)."""
        return self._json if self._data is None else None

    def json_data(self) -> bytes:
        """The data as recorded, as JSON."""
        if self._json is None:
            self._json = encode_data(self.data)
        return self._json

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StoredEvent):
            return NotImplemented
        return (self.envelope, self.checkpoint, self.data) == (
            other.envelope,
            other.checkpoint,
            other.data,
        )

    def __hash__(self) -> int:
        return hash((self.envelope.id, self.checkpoint))

    def __repr__(self) -> str:
        return f"StoredEvent({self.envelope.type} {self.envelope.subject}#{self.envelope.sequence})"

    def decode(self, catalogue: Catalogue) -> RecordedEvent:
        """Upcast and validate the data; the envelope then names the current schema version."""
        event = catalogue.decode(self.envelope.type, self.schema_version, self.data)
        envelope = self.envelope
        current = catalogue.entry(envelope.type).version
        if current != self.schema_version:
            envelope = replace(envelope, dataschema=dataschema_for(envelope.type, current))
        return RecordedEvent(envelope=envelope, data=event, checkpoint=self.checkpoint)


@dataclass(slots=True)
class Outgoing:
    """An event as the outbox relay publishes it: its Kafka key, value and headers (at its
    type's newest schema version), and its place in the log."""

    checkpoint: Checkpoint
    subject: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    traceparent: str | None

    @classmethod
    def of(cls, stored: StoredEvent, catalogue: Catalogue) -> Outgoing:
        """A stored event as published: upcast when an older version was recorded (consumers
        see only the newest), else its data as recorded (validated at append)."""
        envelope = stored.envelope
        entry = catalogue.entry(envelope.type)  # an unknown type stops the relay
        if stored.schema_version == entry.version:
            value = stored.json_data()
        else:
            recorded = stored.decode(catalogue)
            envelope = recorded.envelope
            value = encode_data(recorded.data.model_dump(mode="json"))
        subject = envelope.subject
        return cls(
            stored.checkpoint,
            subject,
            subject.encode(),
            value,
            envelope.kafka_headers(),
            envelope.traceparent,
        )


class EventStore(ABC):
    """An append-only log of event streams with optimistic concurrency and idempotent commands."""

    dialect: str

    def __init__(
        self, engine: AsyncEngine, *, service: str, catalogue: Catalogue = default_catalogue
    ) -> None:
        self.engine = engine
        self.service = service
        self.catalogue = catalogue
        self.tables: StoreTables = build_tables(self.dialect)
        self._source = f"/wangge/{service}"
        self._events = self.tables.events
        self._appended = metrics.APPENDED.labels(self.service)  # looked up once, not per append

    async def create_schema(self) -> None:
        """Create the store's tables if they are missing (tests and embedded mode)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(self.tables.metadata.create_all)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: a command's appends together with the service's read-model writes."""
        async with self.engine.begin() as conn:
            yield conn

    # -- writing -------------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        events: Sequence[DomainEvent],
        *,
        expected_version: int | None,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        request_fingerprint: str | None = None,
        connection: AsyncConnection | None = None,
    ) -> AppendResult:
        """Append ``events`` to a stream that must be at ``expected_version``.

        ``expected_version`` is the version the command decided on (``NO_STREAM`` for a new
        stream) or ``None`` to append whatever the stream holds. A stale version raises
        :class:`ConcurrencyConflict` and writes nothing. With an ``idempotency_key`` a retried
        command gets its first result back and writes nothing again. With a ``connection`` the
        append joins that transaction (the command's read-model writes go after it).
        ``request_fingerprint`` identifies the request behind the key when the events alone
        cannot (a command decided again on a newer state decides other events).
        """
        if not events:
            raise ValueError("an append needs at least one event")
        encoded = [self.catalogue.encode(event) for event in events]
        metadata = metadata or Metadata()
        if not tracing_enabled():
            return self._counted(
                await self._write(
                    self._pending(
                        stream_id,
                        expected_version,
                        encoded,
                        metadata,
                        None,
                        idempotency_key,
                        request_fingerprint,
                    ),
                    connection,
                )
            )
        with tracer.start_as_current_span(
            "events.append",
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "wangge.stream_id": stream_id,
                "wangge.event_count": len(events),
                "wangge.service": self.service,
            },
        ) as span:
            # the events carry the append span's context, so the relay and every projection
            # handler join the trace of the command that caused them
            pending = self._pending(
                stream_id,
                expected_version,
                encoded,
                metadata,
                current_traceparent(),
                idempotency_key,
                request_fingerprint,
            )
            try:
                return self._counted(await self._write(pending, connection))
            except ConcurrencyConflict:
                span.set_attribute("wangge.conflict", True)
                raise

    async def append_batch(
        self,
        appends: Sequence[StreamAppend],
        *,
        connection: AsyncConnection,
        metadata: Metadata | None = None,
    ) -> list[AppendResult]:
        """Append to many streams in the caller's transaction, all or nothing (bulk imports).

        Each stream must be at its ``expected_version`` (0: a new stream), else
        :class:`ConcurrencyConflict`; so must a stream given an idempotency key, and a key
        already recorded is a conflict too (see :class:`StreamAppend`). Backends may write the
        whole batch in one statement.
        """
        check_keyed(appends)
        results = []
        for a in appends:
            result = await self.append(
                a.stream_id,
                a.events,
                expected_version=a.expected_version,
                metadata=a.metadata or metadata,
                idempotency_key=a.idempotency_key,
                request_fingerprint=a.fingerprint,
                connection=connection,
            )
            if result.replayed:  # the key was taken: by an append to this very stream
                raise ConcurrencyConflict(a.stream_id, a.expected_version, result.last_version)
            results.append(result)
        return results

    def _counted(self, result: AppendResult) -> AppendResult:
        # written, if not yet committed when the append joined the caller's transaction: a
        # rolled-back command is counted too, a rare error next to the rate an operator reads
        if not result.replayed:
            self._appended.inc(len(result.event_ids))
        return result

    def _pending(
        self,
        stream_id: str,
        expected_version: int | None,
        encoded: Sequence[tuple[CatalogueEntry, dict[str, Any]]],
        metadata: Metadata,
        traceparent: str | None,
        idempotency_key: str | None,
        request_fingerprint: str | None,
    ) -> PendingAppend:
        traceparent = traceparent or metadata.traceparent
        return PendingAppend(
            stream_id=stream_id,
            expected_version=expected_version,
            events=[
                NewRow(new_event_id(), entry.type, entry.version, data) for entry, data in encoded
            ],
            metadata={
                k: v
                for k, v in (
                    ("actor", metadata.actor),
                    ("correlationid", metadata.correlation_id),
                    ("causationid", metadata.causation_id),
                    ("traceparent", traceparent),
                )
                if v is not None
            },
            recorded_at=datetime.now(UTC),
            idempotency_key=idempotency_key,
            fingerprint=(
                ""
                if idempotency_key is None
                else request_fingerprint or _fingerprint(stream_id, expected_version, encoded)
            ),
        )

    @abstractmethod
    async def _write(
        self, pending: PendingAppend, connection: AsyncConnection | None
    ) -> AppendResult:
        """Write one validated append, in ``connection``'s transaction or in one of its own."""

    async def replayed(
        self, key: str, fingerprint: str, *, connection: AsyncConnection | None = None
    ) -> AppendResult | None:
        """The first result of the request with ``key``, if it ran (a retry gets it again).

        Raises :class:`IdempotencyKeyReused` when the key ran for a request with another
        ``fingerprint``.
        """
        if connection is not None:
            return await self._replay(connection, key, fingerprint)
        async with self.engine.connect() as conn:
            return await self._replay(conn, key, fingerprint)

    async def _replay(
        self, conn: AsyncConnection, key: str, fingerprint: str
    ) -> AppendResult | None:
        keys = self.tables.idempotency_keys
        row = (
            await conn.execute(
                sa.select(keys.c.fingerprint, keys.c.result).where(keys.c.key == key)
            )
        ).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(key)
        return AppendResult.from_json(row.result)

    def recorded(
        self,
        events: Sequence[DomainEvent],
        result: AppendResult,
        metadata: Metadata | None = None,
    ) -> list[RecordedEvent]:
        """The events of an append as a reader will see them, without reading them back."""
        metadata = metadata or Metadata()
        time = result.recorded_at or datetime.now(UTC)
        out = []
        for offset, (event, event_id) in enumerate(zip(events, result.event_ids, strict=True)):
            entry = self.catalogue.entry_of(type(event))
            envelope = Envelope(
                id=event_id,
                source=self._source,
                type=entry.type,
                subject=result.stream_id,
                time=time,
                dataschema=dataschema_for(entry.type, entry.version),
                sequence=result.first_version + offset,
                actor=metadata.actor,
                correlationid=metadata.correlation_id,
                causationid=metadata.causation_id,
                traceparent=metadata.traceparent,
            )
            out.append(RecordedEvent(envelope=envelope, data=event))
        return out

    # -- reading -------------------------------------------------------------------------------

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version, 0 if it does not exist."""
        e = self._events
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                sa.select(sa.func.coalesce(sa.func.max(e.c.version), 0)).where(
                    e.c.stream_id == stream_id
                )
            )
        return int(value or 0)

    async def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        connection: AsyncConnection | None = None,
    ) -> list[RecordedEvent]:
        """Every event of one stream from ``from_version``, decoded at the current version.

        A type the catalogue does not know is an :class:`UnknownEventType` error, never skipped:
        a service's own stream must be fully understood to rebuild its state. With a
        ``connection`` the read happens in its transaction (a reaction reads what it appends to
        in the transaction that holds SQLite's one write lock).
        """
        e = self._events
        query = (
            self._select_stored()
            .where(e.c.stream_id == stream_id, e.c.version >= from_version)
            .order_by(e.c.version)
        )
        if connection is not None:
            rows = (await connection.execute(query)).all()
        else:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [self._stored(row).decode(self.catalogue) for row in rows]

    async def read_streams(
        self, stream_ids: Sequence[str], *, connection: AsyncConnection
    ) -> dict[str, list[RecordedEvent]]:
        """Every event of each stream, in one query in ``connection``'s transaction (a batch of
        reactions loading the streams it appends to); a stream with none is missing."""
        if not stream_ids:
            return {}
        e = self._events
        query = (
            self._select_stored()
            .where(e.c.stream_id.in_(sorted(set(stream_ids))))
            .order_by(e.c.stream_id, e.c.version)
        )
        streams: dict[str, list[RecordedEvent]] = {}
        for row in (await connection.execute(query)).all():
            streams.setdefault(row.stream_id, []).append(self._stored(row).decode(self.catalogue))
        return streams

    async def read_all(
        self,
        after: Checkpoint = START,
        *,
        limit: int = 1000,
        connection: AsyncConnection | None = None,
        types: frozenset[str] | None = None,
    ) -> list[StoredEvent]:
        """Up to ``limit`` committed events after ``after``, in an order no late commit breaks.

        With ``types``, a backend may leave out the data of events of other types (a reader
        that skips them need not receive them); their envelopes and places are all returned.
        """
        if connection is not None:
            return await self._read_all(connection, after, limit)
        return await self._read_all_alone(after, limit, types)

    async def _read_all_alone(
        self, after: Checkpoint, limit: int, types: frozenset[str] | None = None
    ) -> list[StoredEvent]:
        async with self.engine.connect() as conn:
            return await self._read_all(conn, after, limit)

    @abstractmethod
    async def _read_all(
        self, conn: AsyncConnection, after: Checkpoint, limit: int
    ) -> list[StoredEvent]: ...

    async def read_outgoing(self, after: Checkpoint, *, limit: int) -> list[Outgoing]:
        """The next events after ``after`` as the outbox relay publishes them (``read_all``'s
        order and rule)."""
        return [Outgoing.of(s, self.catalogue) for s in await self.read_all(after, limit=limit)]

    async def read_all_by_position(
        self, after: int, *, limit: int = 1000, connection: AsyncConnection | None = None
    ) -> list[StoredEvent]:
        """The naive reader, ``position > after``: it loses events that commit late.

        Kept only to show, in tests and the decision record, what the watermark prevents.
        """
        e = self._events
        query = (
            self._select_stored().where(e.c.position > after).order_by(e.c.position).limit(limit)
        )
        if connection is not None:
            rows = (await connection.execute(query)).all()
        else:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [self._stored(row) for row in rows]

    def _select_stored(self) -> sa.Select[Any]:
        e = self._events
        return sa.select(
            e.c.position,
            self._transaction_id_column(),
            e.c.stream_id,
            e.c.version,
            e.c.event_id,
            e.c.type,
            e.c.schema_version,
            e.c.recorded_at,
            e.c.metadata,
            e.c.data,
        )

    def _transaction_id_column(self) -> sa.ColumnElement[int]:
        return sa.literal_column("0").label("transaction_id")

    def _stored(self, row: sa.Row[Any]) -> StoredEvent:
        mapping = row._mapping
        return StoredEvent(
            self._envelope(mapping),
            row.schema_version,
            Checkpoint(int(row.transaction_id), row.position),
            data=row.data,
        )

    def _envelope(self, row: ColumnsByName) -> Envelope:
        """The envelope of an ``events`` row, from its columns by name."""
        meta = row["metadata"]
        return Envelope(
            id=row["event_id"],
            source=self._source,
            type=row["type"],
            subject=row["stream_id"],
            time=row["recorded_at"],
            dataschema=dataschema_for(row["type"], row["schema_version"]),
            sequence=row["version"],
            actor=meta.get("actor"),
            correlationid=meta.get("correlationid"),
            causationid=meta.get("causationid"),
            traceparent=meta.get("traceparent"),
        )

    # -- checkpoints of the store's own readers (the outbox relay) -------------------------------

    async def load_checkpoint(self, name: str) -> Checkpoint:
        """Where the reader ``name`` stopped; the start of the log if it never ran."""
        c = self.tables.checkpoints
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(c.c.transaction_id, c.c.position).where(c.c.name == name)
                )
            ).first()
        return START if row is None else Checkpoint(row.transaction_id, row.position)

    async def count_after(self, after: Checkpoint) -> int:
        """How many events lie past ``after`` (a reader's lag): counted by position, which for
        a moment misses an event of a PostgreSQL transaction that took its position early and
        commits late; good enough to watch."""
        e = self._events
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                sa.select(sa.func.count()).select_from(e).where(e.c.position > after.position)
            )
        return int(value or 0)

    async def behind(self, name: str) -> int:
        """How many events the reader ``name`` (the relay) has still to read."""
        return await self.count_after(await self.load_checkpoint(name))

    async def save_checkpoint(self, name: str, checkpoint: Checkpoint) -> None:
        """Record where the reader ``name`` stopped (an upsert)."""
        c = self.tables.checkpoints
        values = {
            "transaction_id": checkpoint.transaction_id,
            "position": checkpoint.position,
            "updated_at": datetime.now(UTC),
        }
        async with self.begin() as conn:
            updated = await conn.execute(sa.update(c).where(c.c.name == name).values(**values))
            if updated.rowcount == 0:
                await conn.execute(sa.insert(c).values(name=name, **values))

    @abstractmethod
    def exclusive(self, name: str) -> Any:
        """An async context manager held by one process at a time (one active relay)."""

    @abstractmethod
    def try_exclusive(self, name: str) -> Any:
        """Like :meth:`exclusive`, without waiting: yields whether this process got it."""

    async def close(self) -> None:
        """Dispose of the engine's connections."""
        await self.engine.dispose()


def _fingerprint(
    stream_id: str, expected_version: int | None, encoded: Sequence[tuple[Any, dict[str, Any]]]
) -> str:
    body = json.dumps(
        [stream_id, expected_version, [[entry.type, data] for entry, data in encoded]],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()
