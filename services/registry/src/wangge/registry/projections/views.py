"""The active tables of every registry read model for one connection.

A route that reads several models (a person with their dwelling's scope, a visit with its
address) finds every model's generation in one query, rather than one lookup per model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.core import ServiceCore
from wangge.events.projection import active_generations
from wangge.registry.projections.activity import Activity
from wangge.registry.projections.organisations import OrganisationsAndThings
from wangge.registry.projections.people import People
from wangge.registry.projections.places import PlaceTree

Tables = Mapping[str, sa.Table]


@dataclass(frozen=True)
class Views:
    """The active tables of the registry's read models, for one connection."""

    places: Tables
    people: Tables
    organisations: Tables
    activity: Tables

    @classmethod
    async def of(cls, conn: AsyncConnection, core: ServiceCore) -> Views:
        """The views of a running registry (one query finds every model's generation)."""
        active = await active_generations(conn)
        names = (PlaceTree.name, People.name, OrganisationsAndThings.name, Activity.name)
        if not all(active.get(name) for name in names):
            raise LookupError("the registry's read models have not started")
        places, people, organisations, activity = (
            core.projection(name).tables(active[name]) for name in names
        )
        return cls(places, people, organisations, activity)
