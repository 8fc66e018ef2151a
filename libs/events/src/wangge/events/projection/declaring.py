"""Declaring a projection: its tables (one set per generation) and a handler per event type."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import sqlalchemy as sa
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import tuning
from wangge.events.catalogue import Catalogue, default_catalogue
from wangge.events.envelope import RecordedEvent
from wangge.events.making import maker
from wangge.events.model import DomainEvent, IntegrationEvent
from wangge.events.store import StoredEvent
from wangge.events.telemetry import context_from, tracer, tracing_enabled

if TYPE_CHECKING:
    from wangge.events.projection.inline import InlineOnce


@dataclass(frozen=True)
class ApplyContext:
    """What a handler writes with: the batch's transaction and this generation's tables."""

    conn: AsyncConnection
    tables: Mapping[str, sa.Table]
    inline_once: InlineOnce | None = None
    """In a batch of a projection that is :attr:`Projection.inline_once`: where the units of
    work its reactions open leave their inline applies (``react(..., inline_once=...)``), for
    the runner to make once at the batch's end."""


Handler = Callable[[Any, ApplyContext, RecordedEvent[Any]], Awaitable[None]]
"""A handler takes the recorded event of its model (``RecordedEvent[GridDrawn]``)."""
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
    :data:`~wangge.events.tuning.REACTIONS_PER_TRANSACTION` handled events in one transaction
    (each in a transaction of its own when a younger transaction overtook one of its appends)."""
    consumers: ClassVar[int] = 1
    """Runners of this projection in each process when it reads Kafka: the consumer group shares
    the partitions out among them, so batches of different partitions are applied side by side
    (a reaction waits on many round trips per event; one runner made them a queue). More than
    one needs :attr:`partitions_apart`."""
    partitions_apart: ClassVar[bool] = False
    """The events of each partition read and write only rows that events of the same partition
    write (a row is a stream's, and a stream stays on its partition): batches of different
    partitions may be applied side by side, by runners of several processes in one consumer
    group. Otherwise (the default) one runner at a time applies the projection, whatever the
    number of processes, as from an event table: a place tree derives a grid from its
    community, which another partition brings, and two transactions side by side each miss the
    other's rows (a grid inserted while its community was, in a transaction not committed yet,
    stayed underived for good)."""
    inline_once: ClassVar[bool] = False
    """A reacting projection whose handlers never read what its own reactions write to the
    service's inline read models: those are applied once, at the end of each batch's transaction
    (one write of each table for the batch), rather than after each reaction. Its handlers pass
    the batch's :attr:`ApplyContext.inline_once` on to ``react``."""
    linger_seconds: ClassVar[float | None] = None
    """How long its runner waits after a batch short of full (None: the service's default,
    :data:`~wangge.events.tuning.LINGER_SECONDS`, or for an inline projection
    :data:`~wangge.events.tuning.INLINE_LINGER_SECONDS`). A read model nobody needs within the
    second gathers bigger batches: each batch costs its runner a transaction, a lock of its
    partitions, a read of applied versions and a save of positions, whatever it holds."""
    sources_apart: ClassVar[bool] = False
    """The events of each service it reads read and write only rows that events of the same
    service write (no row is shared between sources): its topics may then be applied in any
    interleaving, and a rebuild on PostgreSQL and Kafka applies them side by side, one process
    per share (``projection.apart``). A view's tests hold it to that: rebuilt so, its rows are
    those of one process."""
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
        raw = stored.unparsed
        data = (
            reader.model_validate_json(raw)
            if raw is not None
            else reader.model_validate(stored.data)
        )
        return _make_recorded(stored.envelope, data, stored.checkpoint)

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
        apply = self.applier()
        for event in events:
            await apply(ctx, event)

    def applier(self) -> Callable[[ApplyContext, RecordedEvent], Awaitable[None]]:
        """What a batch applies its events with: :meth:`apply`, or while no tracer is installed
        the handlers straight (asking for the tracer provider, an environment lookup, for every
        event of a rebuild was a fortieth of it)."""
        return self.apply if tracing_enabled() else self._apply_untraced

    async def _apply_untraced(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._handlers[event.envelope.type](ctx, event)

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


_make_recorded = maker(RecordedEvent)


def foldable(new_streams: set[str]) -> set[str]:
    """The streams a batch may fold in memory as it starts them: none when folding is switched
    off (``tuning.FastPaths.folding``, ADR 0004), so every projection applies one by one."""
    return new_streams if tuning.FAST_PATHS.folding else set()
