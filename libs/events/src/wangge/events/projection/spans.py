"""Covered spans: the stretches of the log a bulk transaction applied inline, which the
projection's runner steps over instead of reading (ADR 0012).

An import writes thousands of events per transaction and applies them to the inline read
models in that transaction; the runner then had to read every one of them again only to find
it applied (half a minute after a census). So a big inline apply that applied every event of
its transaction the projection handles also records where those events lie in the log: from
the transaction's first event to its last. A runner whose next event lies in such a span moves
its position to the span's end in one step.

Only a whole transaction is recorded, and only when nothing in it was left to the runner: the
span says that every event in it is applied or not this projection's, so stepping over it is
reading it. Spans are kept per generation (a rebuild's new one has none: it reads everything)
and deleted once the runner is past them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.events import tuning
from wangge.events.envelope import START, Checkpoint, RecordedEvent
from wangge.events.projection.declaring import Projection
from wangge.events.runner_state import covered, save_batch
from wangge.events.sources import Source, StoreSource

SPAN_FROM_EVENTS = 64
"""From how many events an inline apply records its span: a command's few events cost the
runner next to nothing to read again, and the span's check would be a statement per command."""

SPANS_AHEAD = 64
"""How many spans past its position a runner loads at a time."""

_SPAN_KEY = "wangge_transaction_span"
"""Where a connection keeps its transaction's span for the other inline projections' applies
(each projection records its own; the span is looked up once)."""

_PG_SPAN = """
SELECT count(*) AS n, min(position) AS first, max(position) AS last,
       pg_current_xact_id()::text AS xid
FROM events WHERE transaction_id = pg_current_xact_id()
"""


async def transaction_span(
    conn: AsyncConnection, events: Sequence[RecordedEvent]
) -> tuple[Checkpoint, Checkpoint] | None:
    """Where ``events`` lie in the log, when they are every event their (open) transaction
    appended, in the order appended; None when the transaction appended others too.

    On PostgreSQL the transaction's rows are counted by its id; on SQLite, with one writer at a
    time, a transaction's positions follow one another, so its first and last event's positions
    say how many lie between them."""
    if not events:
        return None
    first_id, last_id = events[0].envelope.id, events[-1].envelope.id
    memo = conn.info.get(_SPAN_KEY)
    if memo is not None and memo[0] == (first_id, last_id, len(events)):
        span: tuple[Checkpoint, Checkpoint] | None = memo[1]
        return span
    span = None
    if conn.dialect.name == "postgresql":
        row = (await conn.exec_driver_sql(_PG_SPAN)).one()
        if row.n == len(events):
            xid = int(row.xid)
            span = Checkpoint(xid, int(row.first)), Checkpoint(xid, int(row.last))
    else:
        log = sa.table("events", sa.column("position"), sa.column("event_id", sa.Uuid()))
        rows = await conn.execute(
            sa.select(log.c.event_id, log.c.position).where(log.c.event_id.in_([first_id, last_id]))
        )
        found = {event_id: position for event_id, position in rows}
        if first_id in found and last_id in found:
            first, last = int(found[first_id]), int(found[last_id])
            if last - first + 1 == len(events):
                span = Checkpoint(0, first), Checkpoint(0, last)
    conn.info[_SPAN_KEY] = ((first_id, last_id, len(events)), span)
    return span


async def record_span(
    conn: AsyncConnection, projection: str, generation: int, events: Sequence[RecordedEvent]
) -> None:
    """Record that the projection's generation holds every event of this transaction it
    handles (the caller applied them all): its runner will step over them."""
    if len(events) < SPAN_FROM_EVENTS or not tuning.FAST_PATHS.spans:
        return
    span = await transaction_span(conn, events)
    if span is None:
        return
    first, last = span
    await conn.execute(
        sa.insert(covered).values(
            projection=projection,
            generation=generation,
            first_transaction=first.transaction_id,
            first_position=first.position,
            last_transaction=last.transaction_id,
            last_position=last.position,
        )
    )


class Spans:
    """A runner's spans ahead of its position, in the database its source's store writes to.

    Loaded at the start and after every batch the runner applied (a bulk transaction may have
    committed meanwhile); an idle runner that found nothing does not ask again.
    """

    def __init__(self, projection: str, engine: AsyncEngine, source: StoreSource | None) -> None:
        self.projection = projection
        self.engine = engine
        self.source = source
        """The service's own event table; None: nothing to step over (a runner of another)."""
        self._ahead: deque[tuple[Checkpoint, Checkpoint]] = deque()
        self._stale = True

    @classmethod
    def of(cls, projection: Projection, engine: AsyncEngine, source: Source) -> Spans:
        """A runner's spans: an inline projection's, read from its own event table (the only
        kind an inline apply covers); any other runner's step over nothing."""
        own = source if projection.inline and isinstance(source, StoreSource) else None
        return cls(projection.name, engine, own)

    def fetched(self, count: int) -> None:
        """After a fetch of ``count`` events: spans may have committed with them."""
        if count:
            self._stale = True

    async def step_over(self, generation: int, stored: dict[str, str]) -> Checkpoint | None:
        """Move ``stored`` past the spans the runner's next events lie in, saved; returns the
        new position, or None when it stayed."""
        source = self.source
        if source is None or not tuning.FAST_PATHS.spans or not (self._stale or self._ahead):
            return None
        key = source.key
        after = Checkpoint.parse(stored[key]) if stored.get(key) else START
        if self._stale:
            await self._load(generation, after)
        moved: Checkpoint | None = None
        while self._ahead:
            first, last = self._ahead[0]
            if _key(last) <= _key(after):
                self._ahead.popleft()
                continue
            following = await source.store.read_all(after, limit=1)
            if not following or not _key(first) <= _key(following[0].checkpoint) <= _key(last):
                break
            after = moved = last
            self._ahead.popleft()
            if not self._ahead:
                self._stale = True  # there may be more than the load's limit
                await self._load(generation, after)
        if moved is not None:
            await self._save(generation, key, moved)
            stored[key] = str(moved)
        return moved

    async def _load(self, generation: int, after: Checkpoint) -> None:
        c = covered.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(
                    c.first_transaction, c.first_position, c.last_transaction, c.last_position
                )
                .where(
                    c.projection == self.projection,
                    c.generation == generation,
                    sa.tuple_(c.last_transaction, c.last_position) > sa.tuple_(*_key(after)),
                )
                .order_by(c.last_transaction, c.last_position)
                .limit(SPANS_AHEAD)
            )
            self._ahead = deque((Checkpoint(a, b), Checkpoint(c, d)) for a, b, c, d in rows)
        self._stale = False

    async def _save(self, generation: int, key: str, position: Checkpoint) -> None:
        """The runner's new position, and the spans it is past gone, in one transaction."""
        c = covered.c
        async with self.engine.begin() as conn:
            await save_batch(
                conn, self.projection, generation, fresh={}, again={}, places={key: str(position)}
            )
            await conn.execute(
                sa.delete(covered).where(
                    c.projection == self.projection,
                    c.generation == generation,
                    sa.tuple_(c.last_transaction, c.last_position) <= sa.tuple_(*_key(position)),
                )
            )


def _key(checkpoint: Checkpoint) -> tuple[int, int]:
    return checkpoint.transaction_id, checkpoint.position
