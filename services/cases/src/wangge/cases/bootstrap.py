"""The cases service's composition root below HTTP: the app's lifespan, the CLI and the handler
tests all build the service here, so they run the same read models and reactions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.config import CasesSettings
from wangge.cases.personal_data import KeyRings, keyrings
from wangge.cases.projections.care import CarePlans
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.residents import Residents
from wangge.cases.projections.roster import Roster
from wangge.cases.reactions import FromHotline, FromRegistry
from wangge.events.core import ServiceCore
from wangge.events.projection import active_tables
from wangge.events.store import EventStore


@dataclass
class CasesCore(ServiceCore):
    """The cases service's store, read models and reactions, and the keys its handlers seal
    with."""

    settings: CasesSettings = field(kw_only=True)
    keyrings: KeyRings = field(kw_only=True)

    async def tables(self, conn: AsyncConnection, name: str) -> Mapping[str, sa.Table]:
        """The current tables of one of the service's read models (``LookupError`` before it
        first started)."""
        return await active_tables(conn, self.projection(name))

    async def tables_if_started(
        self, conn: AsyncConnection, name: str
    ) -> Mapping[str, sa.Table] | None:
        """The current tables of a read model that may not have started yet (the copies of the
        registry's roster and masks): None until it has."""
        try:
            return await self.tables(conn, name)
        except LookupError:
            return None


def bootstrap(settings: CasesSettings, store: EventStore) -> CasesCore:
    """The cases service on ``store``."""
    return CasesCore(
        store,
        [Cases(), CarePlans(), Roster(), Residents(), FromHotline(), FromRegistry()],
        settings=settings,
        keyrings=keyrings(settings.kek()),
    )
