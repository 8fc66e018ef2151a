"""Running commands: load a stream, decide, append, and update the inline read models, in one go.

A command handler folds its stream into state, asks a pure decision function for new events and
appends them at the version it loaded, so a concurrent writer makes it fail (409) instead of
losing an update. Its own read models are updated in the same transaction (DESIGN section 4),
so the client that sent the command reads its own write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.envelope import Metadata, RecordedEvent
from wangge.events.errors import ConcurrencyConflict
from wangge.events.model import DomainEvent
from wangge.events.projection import Projection, apply_inline
from wangge.events.store import AppendResult, EventStore

S = TypeVar("S")
Evolve = Callable[[S | None, DomainEvent, int], S]


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """A stream folded into state: ``state`` is None and ``version`` 0 for a new stream."""

    stream_id: str
    state: S | None
    version: int
    events: list[RecordedEvent]


async def load(store: EventStore, stream_id: str, evolve: Evolve[S]) -> Loaded[S]:
    """Read a stream and fold it with ``evolve``."""
    events = await store.read_stream(stream_id)
    state: S | None = None
    for event in events:
        state = evolve(state, event.data, event.version)
    return Loaded(stream_id, state, events[-1].version if events else 0, events)


def check_expected(loaded: Loaded[S], expected_version: int | None) -> None:
    """Refuse a command sent against another version than the one loaded (``If-Match``)."""
    if expected_version is not None and expected_version != loaded.version:
        raise ConcurrencyConflict(loaded.stream_id, expected_version, loaded.version)


@dataclass
class UnitOfWork:
    """One transaction's appends; the inline projections see them before it commits."""

    store: EventStore
    conn: AsyncConnection
    metadata: Metadata
    recorded: list[RecordedEvent] = field(default_factory=list)
    history: dict[str, Sequence[RecordedEvent]] = field(default_factory=dict)

    async def append(
        self,
        stream_id: str,
        events: Sequence[DomainEvent],
        *,
        expected_version: int | None,
        history: Sequence[RecordedEvent] = (),
        idempotency_key: str | None = None,
        request_fingerprint: str | None = None,
    ) -> AppendResult:
        """Append to one stream in this unit's transaction; ``history`` is what was loaded."""
        result = await self.store.append(
            stream_id,
            events,
            expected_version=expected_version,
            metadata=self.metadata,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
            connection=self.conn,
        )
        if not result.replayed:
            self.history.setdefault(stream_id, history)
            self.recorded.extend(self.store.recorded(events, result, self.metadata))
        return result


@asynccontextmanager
async def unit_of_work(
    store: EventStore,
    *,
    projections: Sequence[Projection] = (),
    metadata: Metadata | None = None,
) -> AsyncIterator[UnitOfWork]:
    """A transaction for a command's appends and writes; inline projections run before commit.

    Appends come first (the event store refuses an append after other writes in the same
    transaction, see ``WriteOrderError``); a command's own tables (a key store, a uniqueness
    index) are written after its appends, inside the block.
    """
    async with store.begin() as conn:
        unit = UnitOfWork(store, conn, metadata or Metadata())
        yield unit
        for projection in projections:
            if projection.inline:
                await apply_inline(projection, conn, unit.recorded, history=unit.history)
