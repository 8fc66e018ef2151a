"""Parked events: what a projection could not apply, waiting in order for a fix.

When a handler fails on an event for a reason of its own (a bug, data it cannot read), the
runner parks that event and, from then on, every later event of the same stream, so the stream
keeps its order, and carries on with every other stream. Parked events are kept with the whole
event (a retry needs no source: a topic may have dropped it by then) and why it was parked.

Once a fix is deployed, an operator asks for a retry (``wangge-events parked retry``, or the
service's ``/admin/parked`` endpoint): the runner applies the stream's parked events in order,
in one transaction with their applied versions, so each is applied exactly once; if the handler
still fails, they stay parked with the new error. A skip marks them applied without applying
them (an event that must never be applied), which also frees the stream.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.events import metrics
from wangge.events.envelope import START, Envelope
from wangge.events.runner_state import applied_versions, generations, parked, upsert
from wangge.events.store import StoredEvent

if TYPE_CHECKING:
    from wangge.events.sources import SourcedEvent

UNKNOWN_TYPE = "unknown"
"""The type of a message that came without one (it could not be read as an event)."""


@dataclass(frozen=True)
class ParkedEvent:
    """One parked event, as an operator sees it (never its data: it may hold personal data)."""

    projection: str
    stream_id: str
    sequence: int
    event_id: str
    event_type: str
    source_key: str
    position: str
    reason: str
    parked_at: datetime
    attempts: int
    retry_requested: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "stream_id": self.stream_id,
            "sequence": self.sequence,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "source": f"{self.source_key}@{self.position}",
            "reason": self.reason,
            "parked_at": self.parked_at.isoformat(),
            "attempts": self.attempts,
            "retry_requested": self.retry_requested,
        }


async def park(
    conn: AsyncConnection,
    projection: str,
    generation: int,
    events: Sequence[tuple[SourcedEvent, str, str]],
) -> None:
    """Park ``(event, reason, error)`` in ``conn``'s transaction; an event parked already (sent
    twice by the relay) stays parked once."""
    if not events:
        return
    now = datetime.now(UTC)
    rows = []
    for sourced, reason, error in events:
        envelope = sourced.event.envelope
        rows.append(
            {
                "projection": projection,
                "generation": generation,
                "stream_id": envelope.subject,
                "sequence": envelope.sequence,
                "event_id": str(envelope.id),
                "event_type": envelope.type,
                "source_key": sourced.source_key,
                "position": sourced.position,
                "attributes": envelope.attributes(),
                "data": sourced.event.json_data().decode(errors="replace"),
                "schema_version": sourced.event.schema_version,
                "reason": reason[:400],
                "error": error or reason,
                "parked_at": now,
                "attempts": 1 if error else 0,
                "retry_requested": False,
            }
        )
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(insert(parked).on_conflict_do_nothing(), rows)
    metrics.PARKED.labels(projection).inc(len(rows))


def stored_event(row: Any) -> StoredEvent:
    """A parked row as the event it was (for a retry)."""
    envelope = Envelope.from_attributes(row.attributes)
    return StoredEvent(envelope, row.schema_version, START, json_data=row.data.encode())


_IN_ACTIVE = parked.join(
    generations,
    (generations.c.projection == parked.c.projection)
    & (generations.c.generation == parked.c.generation),
)
"""Parked rows of their projection's active generation (a retired one's are dropped with it)."""


def _active(projection: str | None) -> Any:
    """Rows of the active generation (of one projection, or of all)."""
    query = sa.select(parked).select_from(_IN_ACTIVE)
    if projection is not None:
        query = query.where(parked.c.projection == projection)
    return query


async def list_parked(
    engine: AsyncEngine, *, projection: str | None = None, stream_id: str | None = None
) -> list[ParkedEvent]:
    """Parked events of the projections' active generations, stream by stream, in order."""
    query = _active(projection)
    if stream_id is not None:
        query = query.where(parked.c.stream_id == stream_id)
    query = query.order_by(parked.c.projection, parked.c.stream_id, parked.c.sequence, parked.c.id)
    async with engine.connect() as conn:
        if not await _has_table(conn):
            return []  # no runner has set up this database yet
        rows = (await conn.execute(query)).all()
    return [
        ParkedEvent(
            projection=row.projection,
            stream_id=row.stream_id,
            sequence=row.sequence,
            event_id=row.event_id,
            event_type=row.event_type,
            source_key=row.source_key,
            position=row.position,
            reason=row.reason,
            parked_at=row.parked_at,
            attempts=row.attempts,
            retry_requested=row.retry_requested,
        )
        for row in rows
    ]


async def _has_table(conn: AsyncConnection) -> bool:
    return bool(await conn.run_sync(lambda sync: sa.inspect(sync).has_table(parked.name)))


async def parked_counts(conn: AsyncConnection) -> dict[str, int]:
    """How many events each projection has parked in its active generation."""
    rows = await conn.execute(
        sa.select(parked.c.projection, sa.func.count())
        .select_from(_IN_ACTIVE)
        .group_by(parked.c.projection)
    )
    return {row[0]: int(row[1]) for row in rows}


async def request_retry(
    engine: AsyncEngine, *, projection: str, stream_id: str | None = None
) -> int:
    """Ask the projection's runner to apply these parked events again, in order (within a
    second or so of this call, by whichever process runs it); returns how many were asked."""
    async with engine.begin() as conn:
        ids = [row.id for row in (await conn.execute(_ids(projection, stream_id))).all()]
        if ids:
            await conn.execute(
                sa.update(parked).where(parked.c.id.in_(ids)).values(retry_requested=True)
            )
    return len(ids)


def _ids(projection: str, stream_id: str | None) -> Any:
    query = sa.select(parked.c.id).select_from(_IN_ACTIVE)
    query = query.where(parked.c.projection == projection)
    if stream_id is not None:
        query = query.where(parked.c.stream_id == stream_id)
    return query


async def skip(engine: AsyncEngine, *, projection: str, stream_id: str) -> int:
    """Mark a stream's parked events applied without applying them, which frees the stream;
    returns how many were skipped. For an event that must never be applied: its effect on the
    read model is lost for good, so prefer a fix and a retry."""
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                _active(projection)
                .where(parked.c.stream_id == stream_id)
                .with_only_columns(parked.c.id, parked.c.generation, parked.c.sequence)
            )
        ).all()
        if not rows:
            return 0
        generation = rows[0].generation
        await _mark_applied(conn, projection, generation, stream_id, max(r.sequence for r in rows))
        await conn.execute(sa.delete(parked).where(parked.c.id.in_([r.id for r in rows])))
    return len(rows)


async def _mark_applied(
    conn: AsyncConnection, projection: str, generation: int, stream_id: str, sequence: int
) -> None:
    current = await conn.scalar(
        sa.select(applied_versions.c.version).where(
            applied_versions.c.projection == projection,
            applied_versions.c.generation == generation,
            applied_versions.c.stream_id == stream_id,
        )
    )
    if current is not None and current >= sequence:
        return
    row = {
        "projection": projection,
        "generation": generation,
        "stream_id": stream_id,
        "version": sequence,
    }
    await upsert(conn, applied_versions, [row], value="version")


def describe(events: Sequence[ParkedEvent]) -> str:
    """Parked events as JSON Lines, for the command line."""
    return "\n".join(json.dumps(e.to_json(), ensure_ascii=False) for e in events)
