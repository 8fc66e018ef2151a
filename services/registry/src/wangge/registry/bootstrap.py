"""The registry's composition root below HTTP: the app's lifespan, the CLI (import, seed) and
the handler tests all build the registry here, so they run the same read models."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import Metadata
from wangge.events.core import ServiceCore
from wangge.events.projection import apply_inline
from wangge.events.store import EventStore, StreamAppend
from wangge.registry.config import RegistrySettings
from wangge.registry.personal_data import KeyRing
from wangge.registry.projections.activity import Activity
from wangge.registry.projections.organisations import OrganisationsAndThings
from wangge.registry.projections.people import People
from wangge.registry.projections.places import PlaceTree
from wangge.service.standalone import standalone


@dataclass
class RegistryCore(ServiceCore):
    """The registry's store and read models, and the key ring its handlers seal with."""

    settings: RegistrySettings = field(kw_only=True)
    keyring: KeyRing = field(kw_only=True)

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


def bootstrap(settings: RegistrySettings, store: EventStore) -> RegistryCore:
    """The registry on ``store``."""
    keyring = KeyRing(settings.kek())
    return RegistryCore(
        store,
        [PlaceTree(), People(keyring), Activity(), OrganisationsAndThings()],
        settings=settings,
        keyring=keyring,
    )


@asynccontextmanager
async def registry(settings: RegistrySettings) -> AsyncIterator[RegistryCore]:
    """The registry on the configured database (migrated by ``wangge registry migrate``)."""
    async with standalone(settings, functools.partial(bootstrap, settings)) as core:
        yield core
