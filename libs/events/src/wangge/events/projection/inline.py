"""Inline application: a command's own events applied to the service's read models in the
command's transaction, so the client that sent it reads its own write.

A reacting batch may leave those applies to its end (:class:`InlineOnce`): the runner makes one
per batch and hands it to the handlers on the apply context; the units of work the reactions
open give it their appends instead of applying them, and the runner applies them all at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import insert_many
from wangge.events.envelope import RecordedEvent
from wangge.events.projection.declaring import ApplyContext, Projection, foldable
from wangge.events.projection.generations import active_generation
from wangge.events.projection.spans import SPAN_FROM_EVENTS, record_span
from wangge.events.runner_state import applied_versions, applied_versions_of, upsert


@dataclass
class InlineOnce:
    """A reacting batch's appends, for the service's inline projections, applied once at the end
    of the batch's transaction (see :attr:`Projection.inline_once`)."""

    projections: list[Projection] = field(default_factory=list)
    recorded: list[RecordedEvent] = field(default_factory=list)
    history: dict[str, Sequence[RecordedEvent]] = field(default_factory=dict)

    def defer(
        self,
        projections: Sequence[Projection],
        recorded: Sequence[RecordedEvent],
        history: Mapping[str, Sequence[RecordedEvent]],
    ) -> None:
        """Keep a unit of work's appends for the batch's end; a stream's history is the one
        before its batch's first append."""
        for projection in projections:
            if projection.inline and all(projection is not p for p in self.projections):
                self.projections.append(projection)
        self.recorded.extend(recorded)
        for stream, before in history.items():
            self.history.setdefault(stream, before)

    async def apply(self, conn: AsyncConnection) -> None:
        """Apply the batch's appends to the inline projections, in the batch's transaction."""
        for projection in self.projections:
            await apply_inline(projection, conn, self.recorded, history=self.history)


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

    A bulk apply that left nothing to the runner records its transaction's span, which the
    runner then steps over (:mod:`wangge.events.projection.spans`).
    """
    handled = projection.handled_types
    by_stream: dict[str, list[RecordedEvent]] = {}
    for event in events:
        if event.envelope.type in handled:
            by_stream.setdefault(event.stream_id, []).append(event)
    if not by_stream and len(events) < SPAN_FROM_EVENTS:
        return 0
    generation = await active_generation(conn, projection.name)
    if not generation:
        return 0
    if not by_stream:
        # a bulk transaction of nothing this projection handles: its runner steps over it
        await record_span(conn, projection.name, generation, events)
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
    await projection.apply_many(ctx, chosen, foldable(new))
    # a new stream has no row yet (no runner saw it before this commit): those are inserted
    await insert_many(conn, applied_versions, [t for t in touched if t["stream_id"] in new])
    await upsert(
        conn, applied_versions, [t for t in touched if t["stream_id"] not in new], value="version"
    )
    if len(eligible) == len(by_stream):
        await record_span(conn, projection.name, generation, events)
    return len(chosen)
