"""Projections: read models built from events, with exactly-once effect whatever crashes.

A projection declares one handler per event type it cares about and ignores the rest. The runner
reads a batch from a source (a Kafka consumer in production, the event table itself in embedded
mode and for local rebuilds), applies it, and stores its source positions in the same database
transaction as the read-model writes. After a crash it resumes from those positions, so no event
is applied twice; events that arrive twice (the relay publishes at least once) are dropped by
(stream id, version).

Rebuilding replays the sources from the beginning into a fresh generation of the projection's
tables, and swaps it in once it has caught up, so readers never see a half-built model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
import weakref
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import sqlalchemy as sa
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.events.catalogue import Catalogue, default_catalogue
from wangge.events.db import insert_many
from wangge.events.envelope import RecordedEvent
from wangge.events.errors import WriteOrderError
from wangge.events.faults import first_line, is_outage, is_transaction_conflict
from wangge.events.model import DomainEvent, IntegrationEvent
from wangge.events.parking import UNKNOWN_TYPE, park, stored_event
from wangge.events.retry import when_overtaken
from wangge.events.runner_state import (
    applied_versions,
    applied_versions_of,
    generations,
    parked,
    positions,
    state,
    stream_states,
    upsert,
)
from wangge.events.sources import KafkaSource, Source, SourcedEvent
from wangge.events.store import EventStore, StoredEvent
from wangge.events.telemetry import context_from, tracer, tracing_enabled

log = logging.getLogger(__name__)

# -- declaring projections ----------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyContext:
    """What a handler writes with: the batch's transaction and this generation's tables."""

    conn: AsyncConnection
    tables: Mapping[str, sa.Table]


Handler = Callable[[Any, ApplyContext, RecordedEvent], Awaitable[None]]
H = TypeVar("H", bound=Handler)


def handles(*models: type[DomainEvent]) -> Callable[[H], H]:
    """Mark a projection method as the handler of these event models."""

    def mark(fn: H) -> H:
        fn.__wangge_handles__ = models  # type: ignore[attr-defined]
        return fn

    return mark


class Projection(ABC):
    """A read model: its tables (per generation) and its handlers."""

    name: ClassVar[str]
    inline: ClassVar[bool] = False
    """A read model of the service's own events, applied in each command's transaction (so a
    client reads its own writes); its runner reads the service's event table, never Kafka, and
    only catches up what no command applied (a new projection, a rebuild)."""
    reacts: ClassVar[bool] = False
    """Its handlers append events of this service (a policy: a routed ticket opens a case), with
    ``wangge.events.command.react`` in the batch's transaction. Its runner applies up to
    :data:`REACTIONS_PER_TRANSACTION` handled events in one transaction (each in a transaction of
    its own when a younger transaction overtook one of its appends)."""
    consumers: ClassVar[int] = 1
    """Runners of this projection in each process when it reads Kafka: the consumer group shares
    the partitions out among them, so batches of different partitions are applied side by side
    (a reaction waits on many round trips per event; one runner made them a queue)."""
    inline_once: ClassVar[bool] = False
    """A reacting projection whose handlers never read what its own reactions write to the
    service's inline read models: those are applied once, at the end of each batch's transaction
    (one write of each table for the batch), rather than after each reaction."""
    reads: ClassVar[tuple[str, ...]] = ()
    """The services whose events this projection applies, when not only its own service's: a
    local copy of another service's data (the hotline bridge's address -> grid map of registry
    places) reads that service's topic, or in embedded mode its event table."""

    def __init__(self, catalogue: Catalogue = default_catalogue) -> None:
        self.catalogue = catalogue
        self._handlers: dict[str, Callable[[ApplyContext, RecordedEvent], Awaitable[None]]] = {}
        self._readers: dict[str, type[IntegrationEvent]] = {}
        for attribute in dir(type(self)):
            fn = getattr(type(self), attribute)
            for model in getattr(fn, "__wangge_handles__", ()):
                if issubclass(model, IntegrationEvent):
                    self._readers[model.event_type] = model
                    self._handlers[model.event_type] = getattr(self, attribute)
                else:
                    self._handlers[catalogue.entry_of(model).type] = getattr(self, attribute)
        self._tables: dict[int, dict[str, sa.Table]] = {}

    def bind(self, service: Any) -> None:  # noqa: B027
        """Called once the running service exists (a reacting projection keeps it, to append to
        its store and apply its inline projections)."""

    @abstractmethod
    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        """The projection's tables, their names ending in ``suffix`` (one set per generation)."""

    @property
    def handled_types(self) -> frozenset[str]:
        """The event types this projection applies; everything else is skipped unread."""
        return frozenset(self._handlers)

    def decode(self, stored: StoredEvent) -> RecordedEvent:
        """An event as this projection reads it: another service's through the projection's
        reader model, its own through the catalogue (upcast to the current version)."""
        reader = self._readers.get(stored.envelope.type)
        if reader is None:
            return stored.decode(self.catalogue)
        data = reader.model_validate(stored.data)
        return RecordedEvent(envelope=stored.envelope, data=data, checkpoint=stored.checkpoint)

    def tables(self, generation: int) -> Mapping[str, sa.Table]:
        """The tables of one generation."""
        if generation not in self._tables:
            self._tables[generation] = dict(self.define_tables(sa.MetaData(), f"_g{generation}"))
        return self._tables[generation]

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """Apply events in order; ``new_streams`` start in this batch (at version 1).

        A projection may override this to write the rows of brand-new streams in bulk (a census
        import starts thousands of streams per transaction), as long as the result is what
        applying the events one by one would leave.
        """
        for event in events:
            await self.apply(ctx, event)

    async def apply(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        """Run the event's handler inside a span that continues the event's trace."""
        handler = self._handlers[event.envelope.type]
        if not tracing_enabled():
            await handler(ctx, event)
            return
        with tracer.start_as_current_span(
            "events.handle",
            context=context_from(event.envelope.traceparent),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "wangge.projection": self.name,
                "wangge.event_type": event.envelope.type,
                "wangge.stream_id": event.stream_id,
            },
        ):
            await handler(ctx, event)


# -- the runner ---------------------------------------------------------------------------------

LINGER_SECONDS = 0.025
"""How long a runner waits after a batch short of full before fetching the next. Under a steady
load each batch costs a transaction, a read of applied versions and a save of positions: at 200
events/s, fetching as soon as anything arrives made those most of a consumer's statements. The
wait is the most it adds to an event's way into a read model; an idle runner (nothing fetched)
does not wait here but in its source."""


class ProjectionRunner:
    """Applies a source's events to one projection, one transaction per batch."""

    def __init__(
        self,
        projection: Projection,
        *,
        engine: AsyncEngine,
        source: Source,
        batch_size: int = 500,
        generation_check_seconds: float = 1.0,
        lock: EventStore | None = None,
        linger_seconds: float = LINGER_SECONDS,
    ) -> None:
        self.projection = projection
        self.linger_seconds = linger_seconds
        self.lock = lock
        self.engine = engine
        self.source = source.narrow(projection.handled_types)
        self.batch_size = batch_size
        self.generation_check_seconds = generation_check_seconds
        self.generation = 0
        self.applied = 0
        self._stored: dict[str, str] = {}
        self._checked = 0.0
        self._started = False

    @staticmethod
    def state_metadata() -> sa.MetaData:
        """The runner's own tables (generations, positions, applied versions), for migrations."""
        return state

    async def setup(self) -> None:
        """Create the runner's tables and, on first use, generation 1 of the projection.

        Projection tables are never migrated: when the projection's tables have changed shape
        since its active generation was made (a column added in a new release), that generation
        is retired and a fresh one starts, which the runner fills from the beginning.
        """
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # processes of one service start side by side: one at a time creates tables and
                # the first generation, or the others fail their start on what it created
                await conn.exec_driver_sql(
                    "SELECT pg_advisory_xact_lock(hashtextextended('wangge projection setup', 0))"
                )
            await conn.run_sync(state.create_all)
            generation = await conn.scalar(
                sa.select(generations.c.generation).where(
                    generations.c.projection == self.projection.name
                )
            )
            if generation is None:
                generation = 1
                await conn.execute(
                    sa.insert(generations).values(
                        projection=self.projection.name, generation=1, updated_at=datetime.now(UTC)
                    )
                )
            elif await self._reshaped(conn, generation):
                retired, generation = generation, await self._next_generation(conn, generation)
                log.warning(
                    "projection %s changed shape: generation %s replaces %s, filled from the start",
                    self.projection.name, generation, retired,
                )  # fmt: skip
                await conn.execute(
                    sa.update(generations)
                    .where(generations.c.projection == self.projection.name)
                    .values(generation=generation, updated_at=datetime.now(UTC))
                )
                await self._drop_generation(conn, retired)
            await self._create_tables(conn, generation)
        _forget_generation(self.projection.name)
        self.generation = generation

    async def _reshaped(self, conn: AsyncConnection, generation: int) -> bool:
        tables = list(self.projection.tables(generation).values())

        def differs(sync: Any) -> bool:
            inspector = sa.inspect(sync)
            for table in tables:
                if inspector.has_table(table.name):
                    found = {column["name"] for column in inspector.get_columns(table.name)}
                    if found != set(table.columns.keys()):
                        return True
            return False

        return bool(await conn.run_sync(differs))

    async def _next_generation(self, conn: AsyncConnection, current: int) -> int:
        newest = await conn.scalar(
            sa.select(sa.func.max(positions.c.generation)).where(
                positions.c.projection == self.projection.name
            )
        )
        return max(current, newest or 0) + 1

    async def _drop_generation(self, conn: AsyncConnection, generation: int) -> None:
        """Drop a retired generation's tables, positions and applied versions."""
        old_tables = list(self.projection.tables(generation).values())
        await conn.run_sync(lambda sync: old_tables[0].metadata.drop_all(sync, tables=old_tables))
        for table in (positions, applied_versions):
            await conn.execute(
                sa.delete(table).where(
                    table.c.projection == self.projection.name, table.c.generation == generation
                )
            )

    async def _create_tables(self, conn: AsyncConnection, generation: int) -> None:
        tables = list(self.projection.tables(generation).values())
        await conn.run_sync(lambda sync: tables[0].metadata.create_all(sync, tables=tables))

    async def _load_positions(self, generation: int) -> dict[str, str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(positions.c.source_key, positions.c.position).where(
                    positions.c.projection == self.projection.name,
                    positions.c.generation == generation,
                )
            )
            return {row.source_key: row.position for row in rows}

    async def start(self) -> None:
        """Set up tables (unless already done) and open the source at the stored positions."""
        if not self.generation:
            await self.setup()
        self._stored = await self._load_positions(self.generation)
        generation = self.generation
        await self.source.start(lambda: self._load_positions(generation))
        self._started = True
        self._checked = time.monotonic()

    async def stop(self) -> None:
        """Close the source (its connections may be gone already: a restart follows)."""
        self._started = False
        try:
            await self.source.stop()
        except Exception as error:
            log.debug("projection %s closed its source with %r", self.projection.name, error)

    @property
    def lock_name(self) -> str:
        """The lock that keeps one process at a time applying from the event table."""
        return f"projection:{self.projection.name}"

    async def run(
        self, stop: asyncio.Event | None = None, healthy: Callable[[], None] | None = None
    ) -> None:
        """Apply batches until ``stop`` is set; ``healthy`` is called after each batch (a
        supervisor's sign that the runner works again after a restart).

        From the event table, one process at a time (every service process runs the runner;
        the others wait their turn): two applying the same events at once could both find
        them unapplied. From Kafka, the consumer group shares the partitions out instead.
        """
        stop = stop or asyncio.Event()
        tables = self.source.tables_read
        if tables:
            # the lock lives with the read model (the service's own store) when one is given
            async with (self.lock or tables[0]).exclusive(self.lock_name):
                await self._run(stop, healthy)
        else:
            await self._run(stop, healthy)

    async def _run(self, stop: asyncio.Event, healthy: Callable[[], None] | None) -> None:
        await self.start()
        try:
            while not stop.is_set():
                count = await self.run_once()
                if healthy is not None:
                    healthy()
                if 0 < count < self.batch_size and self.linger_seconds:
                    # a batch short of full: let the next one gather for a moment, so a steady
                    # stream of events is applied in batches (a transaction and a save of
                    # positions each) rather than one transaction per event or two
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.linger_seconds)
        finally:
            await self.stop()

    async def run_once(self) -> int:
        """Fetch and apply one batch; returns how many events it held."""
        if await self._follow_generation():
            await self._serve_retries(self.generation)
        batch = await self.source.fetch(self._stored, self.batch_size)
        if batch:
            await self._apply(self.generation, batch, self._stored)
        return len(batch)

    async def _follow_generation(self) -> bool:
        # a rebuild in another process swaps generations under this runner: it follows the
        # swap, so it never writes tables the rebuild retired (checked at most once a second;
        # True when it checked)
        now = time.monotonic()
        if not self._started or now - self._checked < self.generation_check_seconds:
            return False
        self._checked = now
        async with self.engine.connect() as conn:
            generation = await active_generation(conn, self.projection.name, fresh=True)
        if not generation or generation == self.generation:
            return True
        log.info(
            "projection %s follows generation %s (was %s)",
            self.projection.name,
            generation,
            self.generation,
        )
        await self.source.stop()
        self.generation = generation
        self._stored = await self._load_positions(generation)
        await self.source.start(lambda: self._load_positions(generation))
        return True

    async def lag(self) -> int:
        """Events the source holds that this projection has not yet applied."""
        return await self.source.lag(self._stored)

    async def _apply(
        self, generation: int, batch: Sequence[SourcedEvent], stored: dict[str, str]
    ) -> None:
        if not self.projection.reacts:
            await self._apply_or_isolate(generation, batch, stored)
            return
        # reactions append: up to REACTIONS_PER_TRANSACTION handled events share one
        # transaction (one commit, one save of positions)
        handled = self.projection.handled_types
        piece: list[SourcedEvent] = []
        count = 0
        for sourced in batch:
            piece.append(sourced)
            if sourced.event.envelope.type in handled:
                count += 1
                if count == REACTIONS_PER_TRANSACTION:
                    await self._apply_or_isolate(generation, piece, stored)
                    piece, count = [], 0
        if piece:
            await self._apply_or_isolate(generation, piece, stored)

    async def _apply_or_isolate(
        self, generation: int, piece: Sequence[SourcedEvent], stored: dict[str, str]
    ) -> None:
        """Apply a piece in one transaction, or else its events one at a time.

        One at a time when the transaction was refused (a younger transaction extended a stream
        a reaction appends to after it took its id), or when a handler failed for a reason of
        its own: then the event at fault is found and parked, and the rest apply. An outage
        (the database or the broker gone) is raised as it is, for the supervisor to wait out.
        """
        try:
            await self._apply_chunk(generation, piece, stored)
            return
        except WriteOrderError:
            log.info("projection %s reacts one event at a time", self.projection.name)
        except Exception as error:
            if is_transaction_conflict(error):
                # a deadlock with another projection's batch: smaller transactions pass
                log.info("projection %s applies one event at a time", self.projection.name)
            elif is_outage(error):
                raise
            else:
                log.warning(
                    "projection %s: a batch of %d events failed (%s); applying them one at a "
                    "time", self.projection.name, len(piece), type(error).__name__,
                )  # fmt: skip
        handled = self.projection.handled_types
        chunk: list[SourcedEvent] = []
        for sourced in piece:
            chunk.append(sourced)
            if sourced.event.envelope.type in handled:
                await self._apply_alone(generation, chunk, stored)
                chunk = []
        if chunk:
            await self._apply_chunk(generation, chunk, stored)

    async def _apply_alone(
        self, generation: int, chunk: Sequence[SourcedEvent], stored: dict[str, str]
    ) -> None:
        """Apply ``chunk`` (events this projection skips, then one it handles) in a transaction
        of its own; park the handled one when its handler fails for a reason of its own."""
        try:
            # a reaction appending to several streams may find one extended by a younger
            # transaction: its transaction rolled back, it runs again in a new one
            await when_overtaken(lambda: self._apply_chunk(generation, chunk, stored))
        except Exception as error:
            if is_outage(error):
                raise
            await self._park_failed(generation, chunk, error, stored)

    async def _park_failed(
        self,
        generation: int,
        chunk: Sequence[SourcedEvent],
        error: Exception,
        stored: dict[str, str],
    ) -> None:
        culprit = chunk[-1]
        reason = f"{type(error).__name__}: {first_line(error)}"
        why = "".join(traceback.format_exception(error))
        new_positions = {s.source_key: s.position for s in chunk}
        async with self.engine.begin() as conn:
            await self._hold_partitions(conn, chunk)
            await park(conn, self.projection.name, generation, [(culprit, reason, why)])
            await self._save(conn, generation, {}, new_positions)
        stored.update(new_positions)
        envelope = culprit.event.envelope
        # the error's text may quote the event's data: the log names only its kind
        log.warning(
            "projection %s parked %s (stream %s, version %s) after %s; later events of the "
            "stream wait behind it: wangge-events parked list",
            self.projection.name, envelope.type, envelope.subject, envelope.sequence,
            type(error).__name__,
        )  # fmt: skip

    async def _apply_chunk(
        self, generation: int, batch: Sequence[SourcedEvent], stored: dict[str, str]
    ) -> None:
        projection = self.projection
        handled = projection.handled_types
        ctx_tables = projection.tables(generation)
        new_positions: dict[str, str] = {}
        applied = 0
        async with self.engine.begin() as conn:
            await self._hold_partitions(conn, batch)
            ctx = ApplyContext(conn=conn, tables=ctx_tables)
            relevant = [s for s in batch if s.event.envelope.type in handled]
            states = await stream_states(
                conn, projection.name, generation, {s.event.envelope.subject for s in relevant}
            )
            last_applied = states.applied
            touched: dict[str, int] = {}
            chosen: list[RecordedEvent] = []
            new: set[str] = set()
            parking: list[tuple[SourcedEvent, str, str]] = []
            for sourced in batch:
                new_positions[sourced.source_key] = sourced.position
                envelope = sourced.event.envelope
                if sourced.fault is not None:
                    if envelope.type in handled or envelope.type == UNKNOWN_TYPE:
                        parking.append((sourced, "unreadable message", sourced.fault))
                    continue
                if envelope.type not in handled:
                    continue
                if envelope.sequence <= last_applied.get(envelope.subject, 0):
                    continue  # published twice by an at-least-once relay: applied already
                if envelope.subject in states.parked:
                    # per-stream order: an event waits behind its stream's parked one
                    parking.append((sourced, "waits behind an earlier parked event", ""))
                    continue
                if envelope.sequence == 1 and envelope.subject not in last_applied:
                    new.add(envelope.subject)  # starts here: a projection may write it in bulk
                chosen.append(projection.decode(sourced.event))
                last_applied[envelope.subject] = envelope.sequence
                touched[envelope.subject] = envelope.sequence
                applied += 1
            if projection.reacts and projection.inline_once:
                await _applying_inline_once(conn, projection.apply_many(ctx, chosen, new))
            else:
                await projection.apply_many(ctx, chosen, new)
            await park(conn, projection.name, generation, parking)
            await self._save(conn, generation, touched, new_positions)
        stored.update(new_positions)
        self.applied += applied

    async def _serve_retries(self, generation: int) -> None:
        """Apply again the parked streams an operator asked to retry (``parking.request_retry``)."""
        async with self.engine.connect() as conn:
            streams = list(
                await conn.scalars(
                    sa.select(parked.c.stream_id)
                    .distinct()
                    .where(
                        parked.c.projection == self.projection.name,
                        parked.c.generation == generation,
                        parked.c.retry_requested.is_(True),
                    )
                )
            )
        for stream in streams:
            await self._retry_stream(generation, stream)

    async def _retry_stream(self, generation: int, stream: str) -> None:
        """A parked stream's events, applied in order, each in one transaction with its applied
        version and its removal from the parked table (so each is applied exactly once); the
        first whose handler still fails stays parked with the new error, and the rest behind
        it."""
        projection = self.projection
        applied = 0
        while True:
            try:
                row_id = await when_overtaken(lambda: self._apply_parked(generation, stream))
            except Exception as error:
                if is_outage(error):
                    raise
                await self._retry_failed(generation, stream, error)
                break
            if row_id is None:
                break
            applied += 1
        if applied:
            log.warning(
                "projection %s applied %d parked events of stream %s on retry",
                projection.name, applied, stream,
            )  # fmt: skip

    async def _apply_parked(self, generation: int, stream: str) -> int | None:
        """Apply the stream's first parked event if a retry was asked for; its row id, or None
        when there is nothing (more) to retry."""
        projection = self.projection
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(parked)
                    .where(
                        parked.c.projection == projection.name,
                        parked.c.generation == generation,
                        parked.c.stream_id == stream,
                    )
                    .order_by(parked.c.sequence, parked.c.id)
                    .limit(1)
                )
            ).first()
            if row is None or not row.retry_requested:
                return None  # done, or another runner of the projection did it first
            # the same partition's lock as the live batches: none of them interleaves
            await self._lock_sources(conn, {row.source_key})
            states = await stream_states(conn, projection.name, generation, [stream])
            if row.sequence > states.applied.get(stream, 0):
                event = projection.decode(stored_event(row))
                new = {stream} if row.sequence == 1 and stream not in states.applied else set()
                ctx = ApplyContext(conn=conn, tables=projection.tables(generation))
                if projection.reacts and projection.inline_once:
                    await _applying_inline_once(conn, projection.apply_many(ctx, [event], new))
                else:
                    await projection.apply_many(ctx, [event], new)
                await self._save(conn, generation, {stream: row.sequence}, {})
                self.applied += 1
            await conn.execute(sa.delete(parked).where(parked.c.id == row.id))
            return int(row.id)

    async def _retry_failed(self, generation: int, stream: str, error: Exception) -> None:
        key = (
            (parked.c.projection == self.projection.name)
            & (parked.c.generation == generation)
            & (parked.c.stream_id == stream)
        )
        async with self.engine.begin() as conn:
            first = await conn.scalar(
                sa.select(parked.c.id).where(key).order_by(parked.c.sequence, parked.c.id).limit(1)
            )
            await conn.execute(
                sa.update(parked)
                .where(parked.c.id == first)
                .values(
                    attempts=parked.c.attempts + 1,
                    reason=f"{type(error).__name__}: {first_line(error)}"[:400],
                    error="".join(traceback.format_exception(error)),
                )
            )
            await conn.execute(sa.update(parked).where(key).values(retry_requested=False))
        log.warning(
            "projection %s: the retry of stream %s failed again (%s); it stays parked",
            self.projection.name, stream, type(error).__name__,
        )  # fmt: skip

    async def _hold_partitions(self, conn: AsyncConnection, batch: Sequence[SourcedEvent]) -> None:
        """Take the batch's partitions (or event tables) for this transaction (PostgreSQL).

        A partition moves between consumers when the group rebalances; the new owner may fetch
        events the old one is still applying. Waiting here until the old owner commits makes
        the applied versions it reads next include that batch, so nothing is applied twice. An
        event table is read by one process at a time (``run`` holds a session lock), but that
        lock lives on one connection, which may break alone while the holder goes on: this
        lock keeps even two holders from applying side by side.
        """
        await self._lock_sources(conn, {s.source_key for s in batch})

    async def _lock_sources(self, conn: AsyncConnection, source_keys: set[str]) -> None:
        if conn.dialect.name != "postgresql":
            return
        keys = sorted(f"{self.projection.name}|{key}" for key in source_keys)
        await conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",
            (keys,),
        )

    async def _save(
        self,
        conn: AsyncConnection,
        generation: int,
        touched: Mapping[str, int],
        new_positions: Mapping[str, str],
    ) -> None:
        key = {"projection": self.projection.name, "generation": generation}
        versions = [{**key, "stream_id": s, "version": v} for s, v in touched.items()]
        places = [{**key, "source_key": k, "position": p} for k, p in new_positions.items()]
        await upsert(conn, applied_versions, versions, value="version")
        await upsert(conn, positions, places, value="position")

    async def rebuild(self) -> int:
        """Replay the source from the beginning into a new generation, then swap it in.

        Returns the new generation. The old generation keeps serving readers until the swap,
        which is one transaction; its tables and positions are dropped after it.
        """
        await self.setup()
        async with self.engine.begin() as conn:
            generation = await self._next_generation(conn, self.generation)
            await self._create_tables(conn, generation)
        source = self.source.fresh()
        stored: dict[str, str] = {}
        await source.start(lambda: self._load_positions(generation))
        try:
            await self._catch_up(source, generation, stored)
        finally:
            await source.stop()
        old = self.generation
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(generations)
                .where(generations.c.projection == self.projection.name)
                .values(generation=generation, updated_at=datetime.now(UTC))
            )
            await self._drop_generation(conn, old)
        _forget_generation(self.projection.name)
        self.generation = generation
        self._stored = stored
        log.info("projection %s rebuilt as generation %s", self.projection.name, generation)
        return generation

    async def _catch_up(self, source: Source, generation: int, stored: dict[str, str]) -> None:
        # the target is fixed once the rebuild's consumer has its partitions; later events are
        # applied by the live runner after the swap
        targets: dict[str, int] | None = None
        while True:
            batch = await source.fetch(stored, self.batch_size)
            if batch:
                await self._apply(generation, batch, stored)
            if not isinstance(source, KafkaSource):
                if not batch:
                    return
                continue
            if targets is None:
                targets = await source.end_offsets() or None
                if targets is None:
                    continue
            if all(int(stored.get(key, "-1")) >= end for key, end in targets.items()):
                return


REACTIONS_PER_TRANSACTION = 32
"""Handled events a reacting projection applies in one transaction: enough to spread a commit
over a burst, few enough that the embedded store's one write lock is never held long."""

GENERATION_MEMO_SECONDS = 1.0
"""How long a process trusts the active generation it last read. Every read model query and
every inline apply needs it, which made it the most frequent statement of a command; a swap made
by another process (a rebuild) is followed within this time, as the runners follow it (a swap
made in this process is seen at once). The retired generation's tables are dropped by the swap,
so a reader that trusted a stale number for longer would query tables that are gone."""

_memo: weakref.WeakKeyDictionary[sa.Engine, dict[str, tuple[int, float]]] = (
    weakref.WeakKeyDictionary()
)


def _forget_generation(projection: str) -> None:
    """A swap in this process: no engine's memo may answer for the projection any more."""
    for known in list(_memo.values()):
        known.pop(projection, None)


async def active_generation(conn: AsyncConnection, projection: str, *, fresh: bool = False) -> int:
    """The generation readers should query (0 before the projection's first start), at most
    :data:`GENERATION_MEMO_SECONDS` old unless ``fresh``."""
    engine = conn.sync_engine
    known = _memo.get(engine)
    now = time.monotonic()
    if not fresh and known is not None:
        hit = known.get(projection)
        if hit is not None and now - hit[1] < GENERATION_MEMO_SECONDS:
            return hit[0]
    value = int(
        await conn.scalar(
            sa.select(generations.c.generation).where(generations.c.projection == projection)
        )
        or 0
    )
    if value:  # a projection that has not started yet is looked up again next time
        _memo.setdefault(engine, {})[projection] = (value, now)
    return value


@dataclass
class _InlineLater:
    """A batch's appends, for its inline projections (see :attr:`Projection.inline_once`)."""

    projections: list[Projection] = field(default_factory=list)
    recorded: list[RecordedEvent] = field(default_factory=list)
    history: dict[str, Sequence[RecordedEvent]] = field(default_factory=dict)


_inline_later: ContextVar[_InlineLater | None] = ContextVar("wangge_inline_later", default=None)


async def _applying_inline_once(conn: AsyncConnection, work: Awaitable[None]) -> None:
    later = _InlineLater()
    token = _inline_later.set(later)
    try:
        await work
    finally:
        _inline_later.reset(token)
    for projection in later.projections:
        await apply_inline(projection, conn, later.recorded, history=later.history)


def inline_later(
    projections: Sequence[Projection],
    recorded: Sequence[RecordedEvent],
    history: Mapping[str, Sequence[RecordedEvent]],
) -> bool:
    """Leave a unit of work's inline applies to the end of the batch it is part of, if it is
    part of one (True); a stream's history is the one before its batch's first append."""
    later = _inline_later.get()
    if later is None:
        return False
    for projection in projections:
        if projection.inline and all(projection is not p for p in later.projections):
            later.projections.append(projection)
    later.recorded.extend(recorded)
    for stream, before in history.items():
        later.history.setdefault(stream, before)
    return True


async def apply_inline(
    projection: Projection,
    conn: AsyncConnection,
    events: Sequence[RecordedEvent],
    *,
    history: Mapping[str, Sequence[RecordedEvent]] | None = None,
    heads: Mapping[str, int] | None = None,
) -> int:
    """Apply a command's own events to an inline projection, in the command's transaction.

    A stream is applied here only when the projection's active generation already holds every
    earlier event of it that the projection handles (``history`` is what the command loaded of
    each stream; a stream missing from it must be new). Otherwise (a rebuild still catching up,
    say) the events are left to the runner, which applies them in order: applying them here
    would mark the stream ahead and make the runner skip what came before. A bulk writer that
    did not load its streams gives ``heads`` instead (each stream's version before these events)
    for streams whose every event the projection handles. Returns how many events were applied.
    """
    handled = projection.handled_types
    by_stream: dict[str, list[RecordedEvent]] = {}
    for event in events:
        if event.envelope.type in handled:
            by_stream.setdefault(event.stream_id, []).append(event)
    if not by_stream:
        return 0
    generation = await active_generation(conn, projection.name)
    if not generation:
        return 0
    needs: dict[str, int] = {}
    for stream in by_stream:
        earlier = (history or {}).get(stream, ())
        needed = max((e.version for e in earlier if e.envelope.type in handled), default=0)
        needs[stream] = max(needed, (heads or {}).get(stream, 0))
    # only streams with a past need their applied version read (an import starts thousands of
    # new streams per transaction, which have none)
    known = [stream for stream, needed in needs.items() if needed]
    applied = await applied_versions_of(conn, projection.name, generation, known)
    ctx = ApplyContext(conn=conn, tables=projection.tables(generation))
    eligible: set[str] = set()
    touched: list[dict[str, Any]] = []
    for stream, stream_events in by_stream.items():
        if applied.get(stream, 0) < needs[stream]:
            continue
        eligible.add(stream)
        touched.append(
            {
                "projection": projection.name,
                "generation": generation,
                "stream_id": stream,
                "version": stream_events[-1].version,
            }
        )
    # in the order they were written: a household's member joins after the person registered
    chosen = [e for e in events if e.stream_id in eligible and e.envelope.type in handled]
    new = {s for s in eligible if not applied.get(s) and by_stream[s][0].version == 1}
    await projection.apply_many(ctx, chosen, new)
    # a new stream has no row yet (no runner saw it before this commit): those are inserted
    await insert_many(conn, applied_versions, [t for t in touched if t["stream_id"] in new])
    await upsert(
        conn, applied_versions, [t for t in touched if t["stream_id"] not in new], value="version"
    )
    return len(chosen)


async def active_tables(conn: AsyncConnection, projection: Projection) -> Mapping[str, sa.Table]:
    """The tables readers query: the active generation's (a projection that never started has
    none, which is a :class:`LookupError`)."""
    generation = await active_generation(conn, projection.name)
    if not generation:
        raise LookupError(f"projection {projection.name} has not started")
    return projection.tables(generation)


async def active_generations(conn: AsyncConnection) -> dict[str, int]:
    """Every projection's active generation, in one query (a read touching several models)."""
    rows = await conn.execute(sa.select(generations.c.projection, generations.c.generation))
    return {row.projection: row.generation for row in rows}
