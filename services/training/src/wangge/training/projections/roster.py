"""The roster: the training service's own copy of the registry's grid workers, and of the grids
and communities they work in (coverage counts a community's workers; access lets community staff
read their community's records).

A worker who leaves stays on the roster with the day they left: their record is kept, and
coverage from that day on no longer counts them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance import grid_workers
from wangge.training.consumed.registry import (
    GridWorkerAppointed,
    GridWorkerLeft,
    GridWorkerReassigned,
    PlaceRegistered,
)

UUID = sa.Uuid(as_uuid=True)
AREAS = frozenset({"subdistrict", "community", "grid"})


class Roster(Projection):
    """Areas (subdistrict, communities, grids), grid workers and the grids each covers."""

    name = "training_roster"
    reads: ClassVar[tuple[str, ...]] = ("registry",)

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        areas = sa.Table(
            f"training_areas{suffix}",
            metadata,
            sa.Column("place_id", UUID, primary_key=True),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("code", sa.String(40), index=True),
            sa.Column("parent_id", UUID, index=True),
        )
        workers = sa.Table(
            f"training_workers{suffix}",
            metadata,
            sa.Column("worker_id", UUID, primary_key=True),
            sa.Column("account", sa.String(200), nullable=False, index=True),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("appointed_on", sa.Date, nullable=False),
            sa.Column("left_on", sa.Date),
            sa.Column("grid_ids", sa.JSON, nullable=False),
        )
        grids = sa.Table(
            f"training_worker_grids{suffix}",
            metadata,
            sa.Column("grid_id", UUID, primary_key=True),
            sa.Column("worker_id", UUID, nullable=False, index=True),
        )
        return {"areas": areas, "workers": workers, "grids": grids}

    @handles(PlaceRegistered)
    async def on_place(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, PlaceRegistered)
        if d.kind not in AREAS:
            return  # buildings and dwellings: not the roster's business
        await ctx.conn.execute(
            sa.insert(ctx.tables["areas"]).values(
                place_id=d.place_id, kind=d.kind, name=d.name, code=d.code, parent_id=d.parent_id
            )
        )

    @handles(GridWorkerAppointed)
    async def on_appointed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, GridWorkerAppointed)
        workers = ctx.tables["workers"]
        await ctx.conn.execute(sa.delete(workers).where(workers.c.worker_id == d.worker_id))
        await ctx.conn.execute(
            sa.insert(workers).values(
                worker_id=d.worker_id,
                account=d.account,
                name=d.name,
                appointed_on=d.on,
                grid_ids=[str(g) for g in d.grid_ids],
            )
        )
        await _take_grids(ctx, d.worker_id, d.grid_ids)

    @handles(GridWorkerReassigned)
    async def on_reassigned(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, GridWorkerReassigned)
        await _take_grids(ctx, d.worker_id, d.grid_ids)

    @handles(GridWorkerLeft)
    async def on_left(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, GridWorkerLeft)
        tables = ctx.tables
        await grid_workers.leave(ctx.conn, tables["workers"], tables["grids"], d.worker_id, d.on)


async def _take_grids(ctx: ApplyContext, worker_id: Any, grid_ids: list[Any]) -> None:
    """The worker covers exactly these grids now; their row remembers them, also after they
    leave (whose community their record is)."""
    workers = ctx.tables["workers"]
    await ctx.conn.execute(
        sa.update(workers)
        .where(workers.c.worker_id == worker_id)
        .values(grid_ids=[str(g) for g in grid_ids])
    )
    await grid_workers.take_grids(ctx.conn, ctx.tables["grids"], worker_id, grid_ids)


async def worker_row(conn: AsyncConnection, tables: Mapping[str, sa.Table], worker_id: Any) -> Any:
    """A worker on the roster (None if the registry never appointed them)."""
    w = tables["workers"]
    return (await conn.execute(sa.select(w).where(w.c.worker_id == worker_id))).first()


async def grid_codes(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], worker: Any
) -> list[str]:
    """The codes of the grids a worker (a roster row) covers, or covered when they left."""
    a = tables["areas"]
    ids = [uuid.UUID(g) for g in worker.grid_ids]
    if not ids:
        return []
    rows = await conn.scalars(
        sa.select(a.c.code).where(a.c.place_id.in_(ids), a.c.code.is_not(None))
    )
    return [str(code) for code in rows]
