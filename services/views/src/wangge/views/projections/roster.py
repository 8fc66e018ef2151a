"""The roster: the views service's copy of the registry's place tree, down to dwellings (a
resident's grid is their dwelling's), and of the grid workers (the shared
``wangge.governance.roster``). The views read it beside their own tables to place a resident,
a household or a hazard in its grid, community and subdistrict."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, ClassVar, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance import roster


class Roster(roster.Roster):
    """Every place (subdistrict to dwelling), grid workers and the grids each holds."""

    name = "views_roster"
    prefix: ClassVar[str] = "views_"
    kinds: ClassVar[frozenset[str] | None] = None


class Placed(NamedTuple):
    """Where a place lies: its grid's and community's ids and codes (None where the roster does
    not know them yet: a place registered before its grid's event arrived)."""

    place_id: uuid.UUID
    kind: str
    grid_id: uuid.UUID | None
    grid_code: str | None
    community_id: uuid.UUID | None
    community_code: str | None


async def placed(
    conn: AsyncConnection, tables: roster.Tables, place_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Placed]:
    """Where each of these places lies (places the roster does not know are left out)."""
    if not place_ids:
        return {}
    places = tables["places"]
    grid, community = places.alias("grid"), places.alias("community")
    found = await conn.execute(
        sa.select(places.c.place_id, places.c.kind, places.c.grid_id,
                  grid.c.code.label("grid_code"), places.c.community_id,
                  community.c.code.label("community_code"))
        .outerjoin(grid, grid.c.place_id == places.c.grid_id)
        .outerjoin(community, community.c.place_id == places.c.community_id)
        .where(places.c.place_id.in_(list(place_ids)))
    )  # fmt: skip
    return {
        r.place_id: Placed(r.place_id, r.kind, r.grid_id, r.grid_code, r.community_id,
                           r.community_code)
        for r in found
    }  # fmt: skip


async def place_by_code(conn: AsyncConnection, tables: roster.Tables, code: str) -> Any:
    """The place (a row of ``places``) with this code: a grid, community or subdistrict."""
    places = tables["places"]
    return (await conn.execute(sa.select(places).where(places.c.code == code))).first()


async def subdistrict_codes(conn: AsyncConnection, tables: roster.Tables) -> list[str]:
    """The codes of the subdistricts the roster knows: the deployment's, whose staff read
    what nothing ties to a place yet."""
    places = tables["places"]
    found = await conn.scalars(
        sa.select(places.c.code).where(places.c.kind == "subdistrict", places.c.code.is_not(None))
    )
    return sorted(found)
