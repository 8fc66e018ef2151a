"""A service without its web layer: the store, its read models and reactions, and its commands.

Each service's ``bootstrap(settings, store)`` builds its core (a subclass that adds the key
rings, catalogues and queues its handlers need, as typed fields); the web app's lifespan calls
it, and so do the service's CLI commands and its handler tests on the embedded store. So
reactions, idempotency and read-model updates are tested below HTTP, and no handler reaches for
``request.app.state``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wangge.events.command import CommandRunner
from wangge.events.envelope import Metadata
from wangge.events.projection import Projection, ProjectionRunner
from wangge.events.runner_state import GenerationMemo
from wangge.events.sources import MergedSource, Source, StoreSource
from wangge.events.store import EventStore


@dataclass
class ServiceCore:
    """The store and the read models of one service; ``bootstrap`` makes a service's own."""

    store: EventStore
    projections: Sequence[Projection]
    by_name: dict[str, Projection] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {projection.name: projection for projection in self.projections}
        for projection in self.projections:
            # a reaction appends to this store and applies this service's inline projections
            projection.bind(self)

    def projection(self, name: str) -> Projection:
        """One of the service's projections, by name (``KeyError`` if it has none of that)."""
        return self.by_name[name]

    def commands(
        self,
        metadata: Metadata,
        *,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        method: str = "COMMAND",
        path: str = "",
    ) -> CommandRunner:
        """A runner for one command on this service's store and inline read models."""
        return CommandRunner(
            self.store,
            metadata,
            projections=self.projections,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
            method=method,
            path=path,
        )

    async def setup(self, generations: GenerationMemo | None = None) -> None:
        """Make the read models' tables and state rows (idempotent, as at every start)."""
        for projection in self.projections:
            runner = ProjectionRunner(
                projection,
                engine=self.store.engine,
                source=StoreSource(self.store),
                lock=self.store,
                generations=generations,
            )
            await runner.setup()

    async def catch_up(self, upstream: Mapping[str, EventStore] | None = None) -> int:
        """Apply what the read models and reactions have not applied yet, from the event tables
        (this service's, and ``upstream``'s for those reading another service); returns how
        many events. A read model whose runner is active in a running process is left to it.
        """
        applied = 0
        for projection in self.projections:
            source = self._source(projection, upstream or {})
            if source is None:
                continue
            runner = ProjectionRunner(
                projection, engine=self.store.engine, source=source, batch_size=2000
            )
            async with self.store.try_exclusive(await runner.qualified_lock_name()) as mine:
                if not mine:
                    continue
                await runner.start()
                try:
                    while await runner.run_once():
                        pass
                finally:
                    await runner.stop()
            applied += runner.applied
        return applied

    def _source(self, projection: Projection, upstream: Mapping[str, EventStore]) -> Source | None:
        own = self.store.service
        services = (own,) if projection.inline else (projection.reads or (own,))
        sources: list[Source] = []
        for service in services:
            if service == own:
                sources.append(StoreSource(self.store, idle_seconds=0))
            elif service in upstream:
                sources.append(
                    StoreSource(upstream[service], key=f"store:{service}", idle_seconds=0)
                )
        if not sources:
            return None
        return sources[0] if len(sources) == 1 else MergedSource(sources)
