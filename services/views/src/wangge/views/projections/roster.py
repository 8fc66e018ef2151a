"""The roster: the views service's copy of the registry's place tree, down to dwellings (a
resident's grid is their dwelling's), and of the grid workers (the shared
``wangge.governance.roster``). The views read it beside their own tables to place a resident,
a household or a hazard in its grid, community and subdistrict. The views' copy keeps the
grids' drawn boundaries too: the web dashboard's map draws them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext, handles
from wangge.governance import roster
from wangge.governance.registry_events import GridBoundaryDrawn, PlaceRegistered


class Roster(roster.Roster):
    """Every place (subdistrict to dwelling), grid workers and the grids each holds, and each
    grid's latest drawn boundary."""

    name = "views_roster"
    prefix: ClassVar[str] = "views_"
    kinds: ClassVar[frozenset[str] | None] = None

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            **super().define_tables(metadata, suffix),
            "boundaries": sa.Table(
                f"views_grid_boundaries{suffix}", metadata,
                sa.Column("grid_id", sa.Uuid(as_uuid=True), primary_key=True),
                sa.Column("boundary", sa.JSON, nullable=False),
            ),
        }  # fmt: skip

    async def _register(self, ctx: ApplyContext, run: Sequence[PlaceRegistered]) -> None:
        await super()._register(ctx, run)
        drawn = {d.place_id: d.boundary for d in run if d.kind == "grid" and d.boundary}
        await _draw(ctx, drawn)

    @handles(GridBoundaryDrawn)
    async def on_boundary_drawn(
        self, ctx: ApplyContext, event: RecordedEvent[GridBoundaryDrawn]
    ) -> None:
        await _draw(ctx, {event.data.place_id: event.data.boundary})


async def _draw(ctx: ApplyContext, drawn: Mapping[uuid.UUID, dict[str, Any]]) -> None:
    """Each grid's boundary, replacing the one drawn before (an event applied again: the same)."""
    if not drawn:
        return
    boundaries = ctx.tables["boundaries"]
    await ctx.conn.execute(sa.delete(boundaries).where(boundaries.c.grid_id.in_(list(drawn))))
    await ctx.conn.execute(
        sa.insert(boundaries), [{"grid_id": k, "boundary": v} for k, v in drawn.items()]
    )


async def boundaries_of(
    conn: AsyncConnection, tables: roster.Tables, grid_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The drawn boundary of each of these grids (grids never drawn are left out)."""
    if not grid_ids:
        return {}
    b = tables["boundaries"]
    rows = await conn.execute(sa.select(b).where(b.c.grid_id.in_(list(grid_ids))))
    return {r.grid_id: r.boundary for r in rows}


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


async def grids_with_workers(
    conn: AsyncConnection, tables: roster.Tables, grid_ids: Collection[uuid.UUID]
) -> list[Any]:
    """These grids (id, code, name) in code order, those with a code, and the name of the
    worker holding each now (``worker``; None: no one)."""
    p, held, workers = tables["places"], tables["grids"], tables["workers"]
    rows = await conn.execute(
        sa.select(p.c.place_id, p.c.code, p.c.name, workers.c.name.label("worker"))
        .outerjoin(held, held.c.grid_id == p.c.place_id)
        .outerjoin(workers, sa.and_(workers.c.worker_id == held.c.worker_id,
                                    workers.c.left_on.is_(None)))
        .where(p.c.place_id.in_(list(grid_ids)), p.c.code.is_not(None))
        .order_by(p.c.code)
    )  # fmt: skip
    return list(rows)
