"""The projection runner: applies a source's events to one projection, exactly once in effect.

The runner reads a batch from a source (a Kafka consumer in production, the event table itself
in embedded mode and for local rebuilds), applies it, and stores its source positions in the
same database transaction as the read-model writes. After a crash it resumes from those
positions, so no event is applied twice; events that arrive twice (the relay publishes at least
once) are dropped by (stream id, version). A handler that fails for a reason of its own parks
its event (``wangge.events.parking``), and its stream waits behind it.

Rebuilding replays the sources from the beginning into a fresh generation of the projection's
tables, and swaps it in once it has caught up, so readers never see a half-built model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.events import metrics, tuning
from wangge.events.db import insert_many
from wangge.events.envelope import RecordedEvent
from wangge.events.errors import WriteOrderError
from wangge.events.faults import first_line, is_outage, is_transaction_conflict
from wangge.events.parking import UNKNOWN_TYPE, park, stored_event
from wangge.events.projection.apart import catch_up_apart, processes_for
from wangge.events.projection.collector import REBUILDS
from wangge.events.projection.declaring import ApplyContext, Projection, foldable
from wangge.events.projection.generations import reshaped
from wangge.events.projection.inline import InlineOnce
from wangge.events.projection.locking import ProjectionLocks
from wangge.events.projection.spans import Spans
from wangge.events.retry import when_overtaken
from wangge.events.runner_state import (
    GenerationMemo,
    applied_versions,
    covered,
    generation_memo,
    generations,
    parked,
    positions,
    save_batch,
    state,
    stream_states,
)
from wangge.events.sources import HAND_BACK_EVERY, KafkaSource, Source, SourcedEvent
from wangge.events.store import EventStore
from wangge.events.tuning import LINGER_SECONDS, REACTIONS_PER_TRANSACTION

log = logging.getLogger(__name__)

SAVE_IN_ONE_STATEMENT = 500
"""Up to how many new streams' versions a batch saves in its one bookkeeping statement; a
rebuild's batch that starts more COPYs them first (streaming beats an array of that size)."""


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
        generations: GenerationMemo | None = None,
    ) -> None:
        """``generations`` is the memo the engine's readers look active generations up in
        (by default the one the engine carries), which a swap made here updates at once."""
        self.projection = projection
        if generations is None:
            generations = generation_memo(engine) or GenerationMemo()
        self.generations = generations
        self.linger_seconds = linger_seconds
        self.lock = lock
        self.locks = ProjectionLocks(projection, engine)
        self.engine = engine
        self.source = source.narrow(projection.handled_types)
        self.batch_size = batch_size
        self.generation_check_seconds = generation_check_seconds
        self.generation = 0
        self.applied = 0
        self._stored: dict[str, str] = {}
        self._checked = 0.0
        self._decoded: dict[int, tuple[SourcedEvent, RecordedEvent]] = {}
        """Events of a rebuild's next batch decoded while the batch before it was written, by
        the identity of their sourced event (checked again where taken)."""
        self._started = False
        # where bulk inline applies covered the log, for the runner to step over (ADR 0012)
        self._spans = Spans.of(projection, engine, self.source)

    @staticmethod
    def state_metadata() -> sa.MetaData:
        """The runner's own tables (generations, positions, applied versions), for migrations."""
        return state

    async def setup(self) -> None:
        """Create the runner's tables and, on first use, generation 1 of the projection.

        Projection tables are never migrated: when the projection's tables have changed shape
        since its active generation was made (a column added in a new release, a text column
        made wider or narrower), that generation is retired and a fresh one starts, which the
        runner fills from the beginning.
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
        self.generations.forget(self.projection.name)
        self.generation = generation

    async def _reshaped(self, conn: AsyncConnection, generation: int) -> bool:
        return await reshaped(conn, list(self.projection.tables(generation).values()))

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
        for table in (positions, applied_versions, covered):
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
        """The projection's session lock (:attr:`ProjectionLocks.name`)."""
        return self.locks.name

    async def qualified_lock_name(self) -> str:
        """The projection's session lock as taken (:meth:`ProjectionLocks.qualified_name`)."""
        return await self.locks.qualified_name()

    async def run(
        self, stop: asyncio.Event | None = None, healthy: Callable[[], None] | None = None
    ) -> None:
        """Apply batches until ``stop`` is set; ``healthy`` is called after each batch (a
        supervisor's sign that the runner works again after a restart).

        From the event table, one process at a time (every service process runs the runner;
        the others wait their turn): two applying the same events at once could both find
        them unapplied. From Kafka too, unless the projection's partitions are apart
        (:attr:`Projection.partitions_apart`): then the consumer group shares them out.
        """
        stop = stop or asyncio.Event()
        holder = self.locks.holder(self.source, self.lock)
        try:
            if holder is not None:
                async with holder.exclusive(await self.qualified_lock_name()):
                    await self._run(stop, healthy)
            else:
                await self._run(stop, healthy)
        finally:
            # a runner that only waited for the lock has not started its source, but its lag
            # may have opened the source's consumer of no group (``KafkaSource._ends``)
            await self.stop()

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
        await self._spans.step_over(self.generation, self._stored)
        batch = await self.source.fetch(self._stored, self.batch_size)
        if batch:
            await self._apply(self.generation, batch, self._stored)
        self._spans.fetched(len(batch))
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
            generation = await self.generations.active(conn, self.projection.name, fresh=True)
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
        self._spans.fetched(1)  # the new generation's spans, if any, are loaded afresh
        await self.source.start(lambda: self._load_positions(generation))
        return True

    async def lag(self) -> int:
        """Events the source holds that this projection has not yet applied. A runner waiting
        for another process's lock (ADR 0010) answers from the positions that process saved."""
        if not self._started and self.generation:
            return await self.source.lag(await self._load_positions(self.generation))
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
        limit = REACTIONS_PER_TRANSACTION if tuning.FAST_PATHS.reaction_batches else 1
        for sourced in batch:
            piece.append(sourced)
            if sourced.event.envelope.type in handled:
                count += 1
                if count == limit:
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
            await self.locks.hold_batch(conn, chunk)
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
            await self.locks.hold_batch(conn, batch)
            ctx = self._context(conn, ctx_tables)
            relevant = [s for s in batch if s.event.envelope.type in handled]
            states = await stream_states(
                conn, projection.name, generation, {s.event.envelope.subject for s in relevant}
            )
            last_applied = states.applied
            had = set(last_applied)  # streams with a saved version: the others get a new row
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
                ahead = self._decoded.pop(id(sourced), None)
                chosen.append(
                    ahead[1] if ahead is not None and ahead[0] is sourced
                    else projection.decode(sourced.event)
                )  # fmt: skip
                last_applied[envelope.subject] = envelope.sequence
                touched[envelope.subject] = envelope.sequence
                applied += 1
            await projection.apply_many(ctx, chosen, foldable(new))
            if ctx.inline_once is not None:
                await ctx.inline_once.apply(conn)
            await park(conn, projection.name, generation, parking)
            await self._save(conn, generation, touched, new_positions, had=had)
        stored.update(new_positions)
        self.applied += applied
        if applied:
            metrics.APPLIED.labels(projection.name).inc(applied)

    def _context(self, conn: AsyncConnection, tables: Mapping[str, sa.Table]) -> ApplyContext:
        """A batch's apply context: with a place for its reactions' inline applies when the
        projection makes them once per batch."""
        projection = self.projection
        once = (
            InlineOnce()
            if projection.reacts and projection.inline_once and tuning.FAST_PATHS.inline_once
            else None
        )
        return ApplyContext(conn=conn, tables=tables, inline_once=once)

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
            await self.locks.hold_sources(conn, {row.source_key})
            states = await stream_states(conn, projection.name, generation, [stream])
            if row.sequence > states.applied.get(stream, 0):
                event = projection.decode(stored_event(row))
                new = {stream} if row.sequence == 1 and stream not in states.applied else set()
                ctx = self._context(conn, projection.tables(generation))
                await projection.apply_many(ctx, [event], foldable(new))
                if ctx.inline_once is not None:
                    await ctx.inline_once.apply(conn)
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

    async def _save(
        self,
        conn: AsyncConnection,
        generation: int,
        touched: Mapping[str, int],
        new_positions: Mapping[str, str],
        *,
        had: Collection[str] | None = None,
    ) -> None:
        """The batch's stream versions and source positions, in its transaction. Streams that
        had no saved version (``had`` names those that did; None: unknown) are inserted; a
        rebuild's batch starts thousands of them, which go first by COPY."""
        if had is None:
            fresh: dict[str, int] = {}
            again = dict(touched)
        else:
            fresh = {s: v for s, v in touched.items() if s not in had}
            again = {s: v for s, v in touched.items() if s in had}
        if len(fresh) > SAVE_IN_ONE_STATEMENT:
            key = {"projection": self.projection.name, "generation": generation}
            rows = [{**key, "stream_id": s, "version": v} for s, v in fresh.items()]
            await insert_many(conn, applied_versions, rows)
            fresh = {}
        await save_batch(
            conn, self.projection.name, generation, fresh=fresh, again=again, places=new_positions
        )

    async def rebuild(self) -> int:
        """Replay the source from the beginning into a new generation, then swap it in.

        Returns the new generation. The old generation keeps serving readers until the swap,
        which is one transaction; its tables and positions are dropped after it.
        """
        with REBUILDS.set_aside():
            return await self._rebuild()

    async def _rebuild(self) -> int:
        await self.setup()
        async with self.engine.begin() as conn:
            generation = await self._next_generation(conn, self.generation)
            await self._create_tables(conn, generation)
        source = self.source.fresh()
        processes = processes_for(source, self.engine.dialect.name, self.projection.sources_apart)
        if isinstance(source, KafkaSource) and processes > 1:

            async def catch_up(share: KafkaSource) -> int:
                before = self.applied
                await share.start(lambda: self._load_positions(generation))
                await self._catch_up_from_kafka(share, generation, {})
                return self.applied - before

            already = self.applied
            applied = await catch_up_apart(
                source, processes, catch_up, name=self.projection.name,
                dispose=lambda: self.engine.dispose(close=False),
            )  # fmt: skip
            self.applied = already + applied  # the forked shares' too
            stored = await self._load_positions(generation)
        else:
            stored = {}
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
        self.generations.forget(self.projection.name)
        self.generation = generation
        self._stored = stored
        log.info("projection %s rebuilt as generation %s", self.projection.name, generation)
        return generation

    async def _catch_up(self, source: Source, generation: int, stored: dict[str, str]) -> None:
        if isinstance(source, KafkaSource):
            await self._catch_up_from_kafka(source, generation, stored)
            return
        # an event table is read after the positions stored: one batch at a time
        while batch := await source.fetch(stored, self.batch_size):
            await self._apply(generation, batch, stored)

    async def _catch_up_from_kafka(
        self, source: KafkaSource, generation: int, stored: dict[str, str]
    ) -> None:
        """Apply a topic's records up to the ends it had when the rebuild's consumer got its
        partitions (later ones are the live runner's, after the swap).

        The next batch is fetched and read while this one is written: a fifth of a rebuild's
        time was its process waiting on the database's writing of a batch, the next one's
        records already in the consumer. (A Kafka consumer reads on from its own position;
        an event table's next batch starts after the positions this one stores.)
        """
        targets: dict[str, int] | None = None
        ahead = asyncio.ensure_future(self._fetch_decoded(source, stored))
        try:
            while True:
                batch = await ahead
                ahead = asyncio.ensure_future(self._fetch_decoded(source, stored))
                if batch:
                    await self._apply(generation, batch, stored)
                if targets is None:
                    targets = source.fetched_ends() or await source.end_offsets() or None
                    if targets is None:
                        continue
                if all(int(stored.get(key, "-1")) >= end for key, end in targets.items()):
                    return
        finally:
            # what it fetched past the ends is the live runner's: it reads from the positions
            ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ahead
            self._decoded.clear()

    async def _fetch_decoded(
        self, source: KafkaSource, stored: Mapping[str, str]
    ) -> list[SourcedEvent]:
        """A rebuild's next batch, the events it applies decoded here: this runs while the
        batch before is written, in the process's waits on the database, which the fetch alone
        did not fill (decoding was a tenth of a rebuild's CPU, spent between statements)."""
        batch = await source.fetch(stored, self.batch_size)
        handled, decode = self.projection.handled_types, self.projection.decode
        decoded: dict[int, tuple[SourcedEvent, RecordedEvent]] = {}
        for read, sourced in enumerate(batch, 1):
            if read % HAND_BACK_EVERY == 0:
                await asyncio.sleep(0)
            if sourced.fault is None and sourced.event.envelope.type in handled:
                try:
                    decoded[id(sourced)] = (sourced, decode(sourced.event))
                except Exception:  # noqa: S112 - decoded again where applied, which parks it
                    continue
        self._decoded.update(decoded)
        return batch
