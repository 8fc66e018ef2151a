"""The hotline bridge's composition root below HTTP: the app's lifespan, the CLI and the handler
tests all build the service here, so they run the same read models and reactions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.core import ServiceCore
from wangge.events.projection import active_tables
from wangge.events.store import EventStore
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue
from wangge.hotline_bridge.handlers.intake import Intakes, intakes
from wangge.hotline_bridge.personal_data import CallerKeys, keyring
from wangge.hotline_bridge.projections.callers import CallerPhones
from wangge.hotline_bridge.projections.grid_map import GridMap
from wangge.hotline_bridge.projections.tickets import Tickets
from wangge.hotline_bridge.reactions import FromCases


@dataclass
class HotlineCore(ServiceCore):
    """The hotline bridge's store, read models and reaction, and what its handlers need: the
    callers' keys, the dispatch catalogue, the intake queue."""

    settings: HotlineSettings = field(kw_only=True)
    keyring: CallerKeys = field(kw_only=True)
    catalogue: DispatchCatalogue = field(kw_only=True)
    intakes: Intakes = field(kw_only=True)

    async def tickets(self, conn: AsyncConnection) -> Mapping[str, sa.Table]:
        """The tickets read model's tables, in the generation ``conn`` sees."""
        return await active_tables(conn, self.projection(Tickets.name))

    async def phones(self, conn: AsyncConnection) -> Mapping[str, sa.Table]:
        """The phone index's tables."""
        return await active_tables(conn, self.projection(CallerPhones.name))

    async def grid_map(self, conn: AsyncConnection) -> Mapping[str, sa.Table] | None:
        """The grid map's tables (None before its first start)."""
        try:
            return await active_tables(conn, self.projection(GridMap.name))
        except LookupError:
            return None


def bootstrap(settings: HotlineSettings, store: EventStore) -> HotlineCore:
    """The hotline bridge on ``store``."""
    keys = keyring(settings.kek())
    return HotlineCore(
        store,
        [Tickets(), CallerPhones(keys), GridMap(), FromCases(keys)],
        settings=settings,
        keyring=keys,
        catalogue=DispatchCatalogue.load(settings.dispatch_catalogue),
        intakes=intakes(),
    )
