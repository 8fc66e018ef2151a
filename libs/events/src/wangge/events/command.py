"""Running commands: load a stream, decide, append, and update the inline read models, in one go.

A command handler folds its stream into state, asks a pure decision function for new events and
appends them at the version it loaded, so a concurrent writer makes it fail (409) instead of
losing an update. Its own read models are updated in the same transaction (DESIGN section 4),
so the client that sent the command reads its own write.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.envelope import Metadata, RecordedEvent, new_event_id
from wangge.events.errors import ConcurrencyConflict, StreamNotFound
from wangge.events.model import DomainEvent
from wangge.events.projection import InlineOnce, Projection, apply_inline
from wangge.events.store import NO_STREAM, AppendResult, EventStore, StreamAppend

S = TypeVar("S")
Evolve = Callable[[S | None, DomainEvent, int], S]


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """A stream folded into state: ``state`` is None and ``version`` 0 for a new stream."""

    stream_id: str
    state: S | None
    version: int
    events: list[RecordedEvent]


async def load(
    store: EventStore,
    stream_id: str,
    evolve: Evolve[S],
    *,
    connection: AsyncConnection | None = None,
) -> Loaded[S]:
    """Read a stream and fold it with ``evolve`` (in ``connection``'s transaction, if given)."""
    events = await store.read_stream(stream_id, connection=connection)
    state: S | None = None
    for event in events:
        state = evolve(state, event.data, event.version)
    return Loaded(stream_id, state, events[-1].version if events else 0, events)


async def load_many(
    store: EventStore, stream_ids: Sequence[str], evolve: Evolve[S], *, connection: AsyncConnection
) -> dict[str, Loaded[S]]:
    """Many streams folded with ``evolve``, read in one query in ``connection``'s transaction."""
    read = await store.read_streams(stream_ids, connection=connection)
    loaded: dict[str, Loaded[S]] = {}
    for stream_id in stream_ids:
        events = read.get(stream_id, [])
        state: S | None = None
        for event in events:
            state = evolve(state, event.data, event.version)
        loaded[stream_id] = Loaded(stream_id, state, events[-1].version if events else 0, events)
    return loaded


def check_expected(loaded: Loaded[S], expected_version: int | None) -> None:
    """Refuse a command sent against another version than the one loaded (``If-Match``)."""
    if expected_version is not None and expected_version != loaded.version:
        raise ConcurrencyConflict(loaded.stream_id, expected_version, loaded.version)


def correlated(
    metadata: Metadata, history: Sequence[RecordedEvent] = (), *, starts: bool = False
) -> Metadata:
    """The metadata an append records, in the matter (一件事) its stream belongs to.

    A correlation id the caller chose (an ``X-Correlation-Id``, a reaction's cause) stands.
    Otherwise an append to a stream carries the id the stream's first event carries (or that
    event's own id, for a stream recorded before every stream had one): a person's step on a
    case a ticket opened stays in the ticket's matter instead of the chain breaking at the first
    human step. An append that ``starts`` a stream starts a matter of its own. ``history`` is the
    stream as loaded, from its first event; an append to a stream nobody loaded keeps None.
    """
    if metadata.correlation_id is not None:
        return metadata
    if history:
        first = history[0].envelope
        return replace(metadata, correlation_id=first.correlationid or str(first.id))
    if starts:
        return replace(metadata, correlation_id=str(new_event_id()))
    return metadata


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
        metadata: Metadata | None = None,
    ) -> AppendResult:
        """Append to one stream in this unit's transaction; ``history`` is what was loaded;
        ``metadata``, when given, is this append's own (one of a group commit's commands).

        Its correlation id, unless given, is the stream's matter (:func:`correlated`); the
        unit's first append settles it for the unit's later appends, so a command's events
        are one matter."""
        own = metadata is None
        metadata = correlated(
            metadata or self.metadata, history, starts=expected_version == NO_STREAM
        )
        if own:
            self.metadata = metadata
        result = await self.store.append(
            stream_id,
            events,
            expected_version=expected_version,
            metadata=metadata,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
            connection=self.conn,
        )
        if not result.replayed:
            self.history.setdefault(stream_id, history)
            self.recorded.extend(self.store.recorded(events, result, metadata))
        return result

    async def append_batch(self, appends: Sequence[StreamAppend]) -> list[AppendResult]:
        """Start many new streams in this unit's transaction, in as few statements as the store
        can (a group commit of commands that each start one, an import); each keeps its own
        metadata if it has one."""
        if any(a.expected_version for a in appends):
            raise ValueError("a unit's batch append starts new streams only")
        # each command of a group commit starts its own matter, unless it named one
        self.metadata = correlated(self.metadata, starts=True)
        appends = [
            a if a.metadata is None else replace(a, metadata=correlated(a.metadata, starts=True))
            for a in appends
        ]
        results = await self.store.append_batch(
            appends, connection=self.conn, metadata=self.metadata
        )
        for append, result in zip(appends, results, strict=True):
            self.history.setdefault(append.stream_id, ())
            metadata = append.metadata or self.metadata
            self.recorded.extend(self.store.recorded(append.events, result, metadata))
        return results


@asynccontextmanager
async def unit_of_work(
    store: EventStore,
    *,
    projections: Sequence[Projection] = (),
    metadata: Metadata | None = None,
) -> AsyncIterator[UnitOfWork]:
    """A transaction for a command's appends and writes; inline projections run before commit.

    Appends come first where they can: the first append of a transaction is the cheapest (an
    append after other writes also checks the stream's newest writer, see ``WriteOrderError``);
    a command's own tables (a key store, a uniqueness index) are written after its appends,
    inside the block.
    """
    async with (
        store.begin() as conn,
        unit_on(store, conn, projections=projections, metadata=metadata) as unit,
    ):
        yield unit


@asynccontextmanager
async def unit_on(
    store: EventStore,
    conn: AsyncConnection,
    *,
    projections: Sequence[Projection] = (),
    metadata: Metadata | None = None,
    inline_once: InlineOnce | None = None,
) -> AsyncIterator[UnitOfWork]:
    """A unit of work inside a transaction that is already open: a reacting projection's batch
    (a policy that turns another service's event into this service's command), whose appends
    commit with the source position that caused them. Given the batch's ``inline_once``
    (``ApplyContext.inline_once``), the inline projections are left to the batch's end."""
    unit = UnitOfWork(store, conn, metadata or Metadata())
    yield unit
    if inline_once is not None:
        inline_once.defer(projections, unit.recorded, unit.history)
        return
    for projection in projections:
        if projection.inline:
            await apply_inline(projection, conn, unit.recorded, history=unit.history)


@dataclass
class Starts:
    """The streams a reacting batch's reactions start, appended together (one statement with
    their idempotency keys on PostgreSQL) rather than one round trip each: most reactions start
    a stream (a routed ticket opens a case), and each append was the most of a reaction's work.

    A reaction to a stream already here appends what is here first, then reads the stream as
    any reaction does; the batch's handler appends the rest before it ends (:meth:`append`),
    in its transaction, so they still commit with the source positions that caused them.
    """

    store: EventStore
    conn: AsyncConnection
    projections: Sequence[Projection] = ()
    inline_once: InlineOnce | None = None
    appends: dict[str, StreamAppend] = field(default_factory=dict)

    async def append(self) -> None:
        """Append every stream gathered so far."""
        if not self.appends:
            return
        appends, self.appends = list(self.appends.values()), {}
        async with unit_on(
            self.store, self.conn, projections=self.projections, inline_once=self.inline_once
        ) as unit:
            await unit.append_batch(appends)


async def react(
    store: EventStore,
    conn: AsyncConnection,
    cause: RecordedEvent,
    stream_id: str,
    evolve: Evolve[S],
    decide: Callable[[S | None, int], Sequence[DomainEvent]],
    *,
    projections: Sequence[Projection] = (),
    actor: str,
    loaded: Loaded[S] | None = None,
    inline_once: InlineOnce | None = None,
    starts: Starts | None = None,
) -> AppendResult | None:
    """Append what ``decide`` makes of a stream because of another service's event ``cause``,
    in the reacting projection's transaction (so the reaction commits with the source position).

    The cause's event id is the append's idempotency key: a replay of the source (a rebuild, a
    redelivery) finds the first reaction instead of reacting twice. Returns None when ``decide``
    has nothing to append. ``loaded`` is the stream as the caller read it in this transaction
    (a batch's streams, read together with :func:`load_many`), never after an append to it;
    ``inline_once`` is the batch's (``ctx.inline_once``), for a projection that applies its
    reactions' inline projections once per batch. With the batch's ``starts``, a reaction that
    starts its stream is gathered there (None back) and appended with the others.
    """
    # one key per cause and stream, short enough for the idempotency table (64 characters)
    key = f"reaction:{uuid.uuid5(cause.envelope.id, stream_id)}"
    if starts is not None and stream_id in starts.appends:
        # a second word on a stream the batch starts: read once it is written
        await starts.append()
        loaded = None
    # read in the reaction's own transaction: on SQLite it holds the one write lock, and another
    # connection would wait for it forever
    if loaded is None:
        loaded = await load(store, stream_id, evolve, connection=conn)
    # the key is kept only with an append that wrote events to this stream: a stream that is
    # still empty cannot have it, so only an existing one's key is looked up (a reaction that
    # starts a stream, the usual case, costs no lookup)
    if loaded.version:
        done = await store.replayed(key, key, connection=conn)
        if done is not None:
            return done
    events = list(decide(loaded.state, loaded.version))
    if not events:
        return None
    metadata = Metadata(
        actor=actor,
        correlation_id=cause.envelope.correlationid or str(cause.envelope.id),
        causation_id=str(cause.envelope.id),
        traceparent=cause.envelope.traceparent,
    )
    if starts is not None and not loaded.version:
        starts.appends[stream_id] = StreamAppend(
            stream_id, events, NO_STREAM, metadata, idempotency_key=key, fingerprint=key
        )
        return None
    async with unit_on(
        store, conn, projections=projections, metadata=metadata, inline_once=inline_once
    ) as unit:
        return await unit.append(
            stream_id,
            events,
            expected_version=loaded.version,
            history=loaded.events,
            idempotency_key=key,
            request_fingerprint=key,
        )


Also = Callable[[UnitOfWork], Awaitable[None]]
"""Writes of the command's own tables, after its appends and in their transaction."""


class NoBody(BaseModel):
    """The body of a command that has none: its idempotency fingerprint is its name (the
    request's method and path) and, for a change, its stream."""


NO_BODY = NoBody()
"""What ``CommandRunner.create`` and ``change`` take for a command without a body."""


class _Body(Protocol):
    def model_dump(self, *, mode: str) -> Any: ...


@dataclass(frozen=True)
class CommandRunner:
    """One command's way to the store: who asks, the version they saw, and retry safety.

    It knows nothing of HTTP, so a handler runs the same under a route, a CLI command, a
    reaction's test or a handler test on the embedded store. The web kit makes one per request
    from its headers (``If-Match`` gives ``expected_version``, ``Idempotency-Key`` the key,
    scoped to the caller); ``method`` and ``path`` name the request in the idempotency
    fingerprint, so a key sent again with another command is refused.
    """

    store: EventStore
    metadata: Metadata
    projections: Sequence[Projection] = ()
    idempotency_key: str | None = None
    expected_version: int | None = None
    method: str = "COMMAND"
    path: str = ""

    @property
    def actor(self) -> str:
        """Who the command acts for (the envelope's actor; every command acts for someone)."""
        if self.metadata.actor is None:
            raise ValueError("a command's metadata names no actor")
        return self.metadata.actor

    def projection(self, name: str) -> Projection:
        """One of the read models the command's service keeps (``LookupError``: none by that
        name)."""
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise LookupError(name)

    def starting(self) -> CommandRunner:
        """The same command with the correlation id of the matter it starts: the caller's, or
        a new one (a command whose events go to streams through more than one append, each of
        which must carry it)."""
        return replace(self, metadata=correlated(self.metadata, starts=True))

    def expecting(self, version: int | None) -> CommandRunner:
        """The same command at another expected version (None: whatever the stream holds)."""
        return replace(self, expected_version=version)

    def fingerprint(self, body: _Body | None = None, **extra: Any) -> str:
        """What identifies the command behind an idempotency key: its name and body."""
        payload = {
            "method": self.method,
            "path": self.path,
            "body": body.model_dump(mode="json") if body is not None else None,
            **extra,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    async def replayed(self, fingerprint: str) -> AppendResult | None:
        """The first result of this command, when it is a retry."""
        if self.idempotency_key is None:
            return None
        return await self.store.replayed(self.idempotency_key, fingerprint)

    async def load(self, stream_id: str, evolve: Evolve[S], *, field: str) -> Loaded[S]:
        """A stream folded into state; ``StreamNotFound`` naming ``field`` when it has no
        events (the web kit answers 404)."""
        loaded = await load(self.store, stream_id, evolve)
        if loaded.state is None:
            raise StreamNotFound(stream_id, field)
        return loaded

    async def create(
        self,
        body: _Body,
        stream_id: str,
        decide: Callable[[], Sequence[DomainEvent]],
        also: Also | None = None,
    ) -> AppendResult:
        """Start a stream with the events ``decide`` returns; a retry gets the first result."""
        fingerprint = self.fingerprint(body)
        first = await self.replayed(fingerprint)
        if first is not None:
            return first
        events = decide()
        async with self.unit() as unit:
            result = await unit.append(
                stream_id,
                events,
                expected_version=NO_STREAM,
                idempotency_key=self.idempotency_key,
                request_fingerprint=fingerprint,
            )
            if also is not None:
                await also(unit)
        return result

    async def change(
        self,
        body: _Body,
        loaded: Loaded[S],
        decide: Callable[[S], Sequence[DomainEvent]],
        also: Also | None = None,
    ) -> AppendResult | None:
        """Decide on a loaded stream at the version the caller saw, and append.

        None when the decision changes nothing. A retry with the same idempotency key gets the
        first result, even if the stream moved on since.
        """
        fingerprint = self.fingerprint(body, stream=loaded.stream_id)
        first = await self.replayed(fingerprint)
        if first is not None:
            return first
        check_expected(loaded, self.expected_version)
        if loaded.state is None:
            raise StreamNotFound(loaded.stream_id)
        events = decide(loaded.state)
        if not events:
            return None
        async with self.unit() as unit:
            result = await unit.append(
                loaded.stream_id,
                events,
                expected_version=loaded.version,
                history=loaded.events,
                idempotency_key=self.idempotency_key,
                request_fingerprint=fingerprint,
            )
            if also is not None:
                await also(unit)
        return result

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UnitOfWork]:
        """The command's transaction, with the service's inline read models."""
        async with unit_of_work(
            self.store, projections=self.projections, metadata=self.metadata
        ) as unit:
            yield unit
