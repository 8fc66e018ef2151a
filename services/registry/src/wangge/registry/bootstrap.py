"""The registry's composition root outside the web app: for commands such as import and seed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import Metadata, default_catalogue
from wangge.events.db import create_engine
from wangge.events.projection import Projection, ProjectionRunner, apply_inline
from wangge.events.sources import StoreSource
from wangge.events.store import EventStore, StreamAppend, open_store
from wangge.registry.config import RegistrySettings
from wangge.registry.personal_data import KeyRing
from wangge.registry.projections.activity import Activity
from wangge.registry.projections.organisations import OrganisationsAndThings
from wangge.registry.projections.people import People
from wangge.registry.projections.places import PlaceTree


def projections(keyring: KeyRing) -> list[Projection]:
    """The registry's read models: the app runs these, and so do import and seed."""
    return [PlaceTree(), People(keyring), Activity(), OrganisationsAndThings()]


@dataclass
class Registry:
    """The registry's store, key ring and read models, without HTTP."""

    settings: RegistrySettings
    store: EventStore
    keyring: KeyRing
    projections: list[Projection]

    async def append_new(
        self,
        appends: Sequence[StreamAppend],
        *,
        actor: str,
        also: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> None:
        """Start many streams in one transaction, with their read models (seeding); ``also``
        writes in the same transaction (the data keys the events were sealed with)."""
        metadata = Metadata(actor=actor)
        async with self.store.begin() as conn:
            results = await self.store.append_batch(appends, connection=conn, metadata=metadata)
            if also is not None:
                await also(conn)
            recorded = []
            for append, result in zip(appends, results, strict=True):
                recorded += self.store.recorded(append.events, result, metadata)
            for projection in self.projections:
                await apply_inline(projection, conn, recorded)

    async def catch_up(self) -> int:
        """Apply what the read models have not applied yet; returns how many events.

        A read model whose runner is active in a running service is left to that runner.
        """
        applied = 0
        for projection in self.projections:
            runner = ProjectionRunner(
                projection,
                engine=self.store.engine,
                source=StoreSource(self.store, idle_seconds=0),
                batch_size=2000,
            )
            async with self.store.try_exclusive(runner.lock_name) as mine:
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


@asynccontextmanager
async def registry(settings: RegistrySettings) -> AsyncIterator[Registry]:
    """The registry's parts on the configured database (migrated by ``wangge registry migrate``)."""
    engine = create_engine(settings.resolved_database_url, **settings.engine_options())
    try:
        store = open_store(engine, service=settings.service, catalogue=default_catalogue)
        keyring = KeyRing(settings.kek())
        models = projections(keyring)
        for projection in models:
            await ProjectionRunner(projection, engine=engine, source=StoreSource(store)).setup()
        yield Registry(settings, store, keyring, models)
    finally:
        await engine.dispose()
