"""The roster: a service's own copy of the registry's place tree and grid workers (网格员), and
the questions every service asks of it (who holds a grid, which grids a worker holds, which
community a grid is in, who works in a community).

Each service that assigns or counts by grid (cases, training, the views to come) keeps one, a
thin subclass of :class:`Roster` naming its projection, its tables' prefix and the kinds of place
it keeps. The copy is the same everywhere:

- ``places``: the place tree (``wangge.governance.place_tree``), each place with its community,
  grid and building derived from its parent's;
- ``workers``: every worker the registry appointed, with the day they were appointed, the grids
  the registry last named for them (kept after they leave: whose community their record is) and
  the day they left (their row stays);
- ``grids``: who holds each grid now, one worker per grid, and ``holds``: when the registry last
  decided about each grid, so that an older appointment arriving late, on another worker's
  stream, never takes a grid from a newer one (``wangge.governance.appointments``).

A copy whose tables change shape (a column added here) is rebuilt by its runner: the active
generation is retired and a new one filled from the registry's first event, no migration.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any, ClassVar, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent
from wangge.events.catalogue import Catalogue, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance import grid_workers, place_tree
from wangge.governance.registry_events import (
    BuildingRegridded,
    GridWorkerAppointed,
    GridWorkerLeft,
    GridWorkerReassigned,
    PlaceRegistered,
    PlaceRenamed,
)

UUID = sa.Uuid(as_uuid=True)
AREAS = frozenset({"subdistrict", "community", "grid"})
"""The kinds of place a copy that never looks inside a grid keeps."""


def worker_columns() -> list[sa.Column[Any]]:
    """The columns of a roster's ``workers`` table."""
    return [
        sa.Column("worker_id", UUID, primary_key=True),
        sa.Column("account", sa.String(200), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        # every appointment sets it; None only in a row written before the roster kept it
        sa.Column("appointed_on", sa.Date),
        sa.Column("left_on", sa.Date),
        sa.Column("grid_ids", sa.JSON, nullable=False, default=lambda: []),
    ]


class Roster(Projection):
    """Places, grid workers and who holds which grid, from the registry's events."""

    reads: ClassVar[tuple[str, ...]] = ("registry",)
    prefix: ClassVar[str]
    """How its tables' names start (each service keeps the names its copy always had)."""
    places_table: ClassVar[str] = "places"
    """The place tree's table's name after the prefix."""
    kinds: ClassVar[frozenset[str] | None] = None
    """The kinds of place kept (None: all, down to dwellings; :data:`AREAS`: grids and up)."""

    def __init__(self, catalogue: Catalogue = default_catalogue) -> None:
        super().__init__(catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        p = self.prefix
        return {
            "places": sa.Table(f"{p}{self.places_table}{suffix}", metadata, *place_tree.columns()),
            "workers": sa.Table(f"{p}workers{suffix}", metadata, *worker_columns()),
            "grids": grid_workers.worker_grids(f"{p}worker_grids{suffix}", metadata),
            "holds": grid_workers.grid_holds(f"{p}grid_holds{suffix}", metadata),
        }

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """Each run of place registrations (a replay of the registry's census brings tens of
        thousands) is inserted and derived at once; everything else is applied in order."""
        run: list[PlaceRegistered] = []
        for event in events:
            if isinstance(event.data, PlaceRegistered):
                run.append(event.data)
                continue
            await self._register(ctx, run)
            run = []
            await self.apply(ctx, event)
        await self._register(ctx, run)

    async def _register(self, ctx: ApplyContext, run: Sequence[PlaceRegistered]) -> None:
        kept = [d for d in run if self.kinds is None or d.kind in self.kinds]
        await place_tree.register_many(
            ctx.conn, ctx.tables["places"],
            [{"place_id": d.place_id, "kind": d.kind, "name": d.name, "code": d.code,
              "parent_id": d.parent_id} for d in kept],
        )  # fmt: skip

    @handles(PlaceRegistered)
    async def on_place(self, ctx: ApplyContext, event: RecordedEvent[PlaceRegistered]) -> None:
        await self._register(ctx, [event.data])

    @handles(PlaceRenamed)
    async def on_renamed(self, ctx: ApplyContext, event: RecordedEvent[PlaceRenamed]) -> None:
        # a place the copy does not keep (a dwelling in a copy of areas) matches no row
        places, d = ctx.tables["places"], event.data
        await ctx.conn.execute(
            sa.update(places).where(places.c.place_id == d.place_id).values(name=d.name)
        )

    @handles(BuildingRegridded)
    async def on_regridded(
        self, ctx: ApplyContext, event: RecordedEvent[BuildingRegridded]
    ) -> None:
        d = event.data
        await place_tree.regrid(ctx.conn, ctx.tables["places"], d.place_id, d.to_grid_id)

    @handles(GridWorkerAppointed)
    async def on_appointed(
        self, ctx: ApplyContext, event: RecordedEvent[GridWorkerAppointed]
    ) -> None:
        d = event.data
        workers = ctx.tables["workers"]
        await ctx.conn.execute(sa.delete(workers).where(workers.c.worker_id == d.worker_id))
        await ctx.conn.execute(
            sa.insert(workers).values(
                worker_id=d.worker_id, account=d.account, name=d.name, appointed_on=d.on,
                grid_ids=[str(g) for g in d.grid_ids],
            )
        )  # fmt: skip
        await self._take_grids(ctx, event, d.worker_id, d.grid_ids)

    @handles(GridWorkerReassigned)
    async def on_reassigned(
        self, ctx: ApplyContext, event: RecordedEvent[GridWorkerReassigned]
    ) -> None:
        d = event.data
        await _set_worker(ctx, d.worker_id, grid_ids=[str(g) for g in d.grid_ids])
        await self._take_grids(ctx, event, d.worker_id, d.grid_ids)

    @handles(GridWorkerLeft)
    async def on_left(self, ctx: ApplyContext, event: RecordedEvent[GridWorkerLeft]) -> None:
        d = event.data
        await _set_worker(ctx, d.worker_id, left_on=d.on)
        await grid_workers.give_up_grids(
            ctx.conn, ctx.tables["holds"], d.worker_id, event.envelope.time,
            grids=ctx.tables["grids"],
        )  # fmt: skip

    async def _take_grids(
        self,
        ctx: ApplyContext,
        event: RecordedEvent,
        worker_id: uuid.UUID,
        grid_ids: Collection[uuid.UUID],
    ) -> None:
        await grid_workers.take_grids(
            ctx.conn, ctx.tables["holds"], worker_id, grid_ids, event.envelope.time,
            grids=ctx.tables["grids"],
        )  # fmt: skip


async def _set_worker(ctx: ApplyContext, worker_id: uuid.UUID, **values: Any) -> None:
    workers = ctx.tables["workers"]
    await ctx.conn.execute(
        sa.update(workers).where(workers.c.worker_id == worker_id).values(**values)
    )


# -- the questions asked of a roster; ``tables``: its active generation's -----------------------


Tables = Mapping[str, sa.Table]


class Community(NamedTuple):
    """A community (社区) as the roster knows it."""

    place_id: uuid.UUID
    name: str
    code: str | None


async def worker_of(
    conn: AsyncConnection, tables: Tables, grid_id: uuid.UUID
) -> tuple[uuid.UUID, str] | None:
    """The worker who holds a grid (their id and account), if the roster knows one."""
    grids, workers = tables["grids"], tables["workers"]
    row = (
        await conn.execute(
            sa.select(workers.c.worker_id, workers.c.account)
            .join(grids, grids.c.worker_id == workers.c.worker_id)
            .where(grids.c.grid_id == grid_id, workers.c.left_on.is_(None))
        )
    ).first()
    return (row.worker_id, row.account) if row is not None else None


async def grids_of(conn: AsyncConnection, tables: Tables, worker_id: uuid.UUID) -> list[uuid.UUID]:
    """The grids a worker holds now (none once they left, or lost each to a newer appointment)."""
    grids = tables["grids"]
    found = await conn.scalars(
        sa.select(grids.c.grid_id).where(grids.c.worker_id == worker_id).order_by(grids.c.grid_id)
    )
    return list(found)


async def grid_code(conn: AsyncConnection, tables: Tables, grid_id: uuid.UUID) -> str | None:
    """A grid's code (None when the roster does not know the grid)."""
    places = tables["places"]
    code: str | None = await conn.scalar(
        sa.select(places.c.code).where(places.c.place_id == grid_id, places.c.kind == "grid")
    )
    return code


async def community_of(
    conn: AsyncConnection, tables: Tables, grid_id: uuid.UUID
) -> Community | None:
    """The community a grid is in (None when the roster knows neither)."""
    found = await _communities(conn, tables, [grid_id])
    return found.get(grid_id)


async def worker_row(conn: AsyncConnection, tables: Tables, worker_id: uuid.UUID) -> Any:
    """A worker's row (None if the registry never appointed them): also one who left."""
    w = tables["workers"]
    return (await conn.execute(sa.select(w).where(w.c.worker_id == worker_id))).first()


async def grid_codes(conn: AsyncConnection, tables: Tables, worker: Any) -> list[str]:
    """The codes of the grids the registry last named for a worker (a row of ``workers``), also
    once they left: whose community their record is."""
    places = tables["places"]
    ids = [uuid.UUID(g) for g in worker.grid_ids]
    if not ids:
        return []
    rows = await conn.scalars(
        sa.select(places.c.code).where(places.c.place_id.in_(ids), places.c.code.is_not(None))
    )
    return [str(code) for code in rows]


async def workers_by_community(
    conn: AsyncConnection, tables: Tables, day: date
) -> dict[Community | None, set[uuid.UUID]]:
    """The workers on the roster on ``day`` (appointed by then, not left), by the communities of
    the grids the registry named for them (None: a grid whose community the roster lacks)."""
    w = tables["workers"]
    on_day = (
        await conn.execute(
            sa.select(w.c.worker_id, w.c.grid_ids).where(
                w.c.appointed_on <= day, sa.or_(w.c.left_on.is_(None), w.c.left_on > day)
            )
        )
    ).all()
    named = {uuid.UUID(g) for row in on_day for g in row.grid_ids}
    communities = await _communities(conn, tables, named)
    out: dict[Community | None, set[uuid.UUID]] = defaultdict(set)
    for row in on_day:
        for grid in row.grid_ids:
            out[communities.get(uuid.UUID(grid))].add(row.worker_id)
    return dict(out)


async def workers_of_community(
    conn: AsyncConnection, tables: Tables, community_id: uuid.UUID, day: date
) -> set[uuid.UUID]:
    """The workers on the roster on ``day`` named for a grid in the community."""
    by_community = await workers_by_community(conn, tables, day)
    return {
        worker_id
        for community, ids in by_community.items()
        if community is not None and community.place_id == community_id
        for worker_id in ids
    }


async def _communities(
    conn: AsyncConnection, tables: Tables, grid_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Community]:
    """The communities of grids: each grid's parent (a grid hangs under its community, also
    while the community waits underived for a subdistrict that has not arrived)."""
    if not grid_ids:
        return {}
    places = tables["places"]
    grid, community = places.alias("grid"), places.alias("community")
    found = await conn.execute(
        sa.select(grid.c.place_id, community.c.place_id.label("community_id"), community.c.name,
                  community.c.code)
        .join(community, community.c.place_id == grid.c.parent_id)
        .where(grid.c.place_id.in_(list(grid_ids)))
    )  # fmt: skip
    return {r.place_id: Community(r.community_id, r.name, r.code) for r in found}
