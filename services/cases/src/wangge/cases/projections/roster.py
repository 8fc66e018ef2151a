"""The roster: the cases service's own copy of the registry's grids, places and grid workers,
and the needs noted on visits (suggested cases).

It says who is responsible for a grid (a new case is assigned to them), which community a grid
belongs to (the community's triage view), and which grid a dwelling is in (a need noted at a
dwelling suggests a case for its grid). A grid goes to the newest appointment as the registry
recorded them, whatever order workers' streams arrive in (``domain.appointments``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.consumed.registry import (
    BuildingRegridded,
    GridWorkerAppointed,
    GridWorkerLeft,
    GridWorkerReassigned,
    NeedNoted,
    PlaceRegistered,
)
from wangge.cases.domain import appointments
from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance import place_tree
from wangge.governance.redaction import redact
from wangge.governance.times import stored, utc

UUID = sa.Uuid(as_uuid=True)


class Roster(Projection):
    """Places (grid and community of each), grid workers and their grids, suggested cases."""

    name = "cases_roster"
    reads: ClassVar[tuple[str, ...]] = ("registry",)

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        places = sa.Table(f"roster_places{suffix}", metadata, *place_tree.columns())
        workers = sa.Table(
            f"roster_workers{suffix}",
            metadata,
            sa.Column("worker_id", UUID, primary_key=True),
            sa.Column("account", sa.String(200), nullable=False, index=True),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("left_on", sa.Date),
        )
        grids = sa.Table(
            f"roster_worker_grids{suffix}",
            metadata,
            sa.Column("grid_id", UUID, primary_key=True),
            sa.Column("worker_id", UUID, nullable=False, index=True),
        )
        holds = grid_holds(f"roster_grid_holds{suffix}", metadata)
        needs = sa.Table(
            f"roster_needs{suffix}",
            metadata,
            sa.Column("need_id", UUID, primary_key=True),
            sa.Column("dwelling_id", UUID, nullable=False, index=True),
            sa.Column("person_id", UUID),
            sa.Column("category", sa.String(40), nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("noted_at", sa.DateTime(timezone=True), nullable=False),
        )
        return {
            "places": places, "workers": workers, "grids": grids, "holds": holds, "needs": needs
        }  # fmt: skip

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
            await _register(ctx, run)
            run = []
            await self.apply(ctx, event)
        await _register(ctx, run)

    @handles(PlaceRegistered)
    async def on_place(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, PlaceRegistered)
        await _register(ctx, [d])

    @handles(BuildingRegridded)
    async def on_regridded(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, BuildingRegridded)
        places = ctx.tables["places"]
        moved = await ctx.conn.execute(
            sa.update(places).where(places.c.place_id == d.place_id).values(parent_id=d.to_grid_id)
        )
        if moved.rowcount:  # else a building this copy never saw registered: none to move
            await place_tree.derive(ctx.conn, places, d.place_id)

    @handles(GridWorkerAppointed)
    async def on_appointed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, GridWorkerAppointed)
        workers = ctx.tables["workers"]
        await ctx.conn.execute(sa.delete(workers).where(workers.c.worker_id == d.worker_id))
        await ctx.conn.execute(
            sa.insert(workers).values(worker_id=d.worker_id, account=d.account, name=d.name)
        )
        await _take_grids(ctx, event, d.worker_id, d.grid_ids)

    @handles(GridWorkerReassigned)
    async def on_reassigned(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, GridWorkerReassigned)
        await _take_grids(ctx, event, d.worker_id, d.grid_ids)

    @handles(GridWorkerLeft)
    async def on_left(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, GridWorkerLeft)
        workers = ctx.tables["workers"]
        await ctx.conn.execute(
            sa.update(workers).where(workers.c.worker_id == d.worker_id).values(left_on=d.on)
        )
        await give_up_grids(
            ctx.conn, ctx.tables["holds"], d.worker_id, event.envelope.time,
            grids=ctx.tables["grids"],
        )  # fmt: skip

    @handles(NeedNoted)
    async def on_need(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        d = event.data
        assert isinstance(d, NeedNoted)
        # the registry's free text, kept only as its redacted copy (an old event's may be clear)
        await ctx.conn.execute(
            sa.insert(ctx.tables["needs"]).values(
                need_id=d.need_id, dwelling_id=d.dwelling_id, person_id=d.person_id,
                category=d.category, description=redact(d.description),
                noted_at=event.envelope.time,
            )
        )  # fmt: skip


async def _register(ctx: ApplyContext, run: Sequence[PlaceRegistered]) -> None:
    await place_tree.register_many(
        ctx.conn, ctx.tables["places"],
        [{"place_id": d.place_id, "kind": d.kind, "name": d.name, "code": d.code,
          "parent_id": d.parent_id} for d in run],
    )  # fmt: skip


def grid_holds(name: str, metadata: sa.MetaData) -> sa.Table:
    """A table of when the registry last decided about each grid, and whom it gave the grid to
    (none: given up), so that an older appointment arriving late cannot take it."""
    return sa.Table(
        name,
        metadata,
        sa.Column("grid_id", UUID, primary_key=True),
        sa.Column("worker_id", UUID, index=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )


async def _take_grids(
    ctx: ApplyContext, event: RecordedEvent, worker_id: uuid.UUID, grid_ids: list[uuid.UUID]
) -> None:
    tables = ctx.tables
    at = event.envelope.time
    await take_grids(ctx.conn, tables["holds"], worker_id, grid_ids, at, grids=tables["grids"])


async def take_grids(
    conn: AsyncConnection,
    holds: sa.Table,
    worker_id: uuid.UUID,
    grid_ids: Collection[uuid.UUID],
    at: datetime,
    *,
    grids: sa.Table | None = None,
) -> list[uuid.UUID]:
    """Record an appointment or reassignment the registry recorded ``at`` in ``holds`` (and in
    ``grids``, grid -> worker, when given); returns the grids the worker takes."""
    held = await _held(conn, holds, grids, worker_id, grid_ids)
    changed = appointments.appoint(held, worker_id=worker_id, grid_ids=grid_ids, at=at)
    await _record(conn, holds, grids, changed)
    return appointments.won(changed, worker_id)


async def give_up_grids(
    conn: AsyncConnection,
    holds: sa.Table,
    worker_id: uuid.UUID,
    at: datetime,
    *,
    grids: sa.Table | None = None,
) -> None:
    """Record a worker leaving, recorded ``at``: their grids have no worker."""
    held = await _held(conn, holds, grids, worker_id, ())
    await _record(conn, holds, grids, appointments.leave(held, worker_id=worker_id, at=at))


BEFORE_HOLDS = datetime.min.replace(tzinfo=UTC)
"""The decision time of a grid -> worker row kept before the holds table existed: unknown, so any
appointment recorded since is newer."""


async def _held(
    conn: AsyncConnection,
    holds: sa.Table,
    grids: sa.Table | None,
    worker_id: uuid.UUID,
    grid_ids: Collection[uuid.UUID],
) -> dict[uuid.UUID, appointments.Hold]:
    """The holds of ``grid_ids`` and of the worker's grids."""
    named = list(grid_ids)

    def rows_of(t: sa.Table) -> sa.Select[Any]:
        return sa.select(t).where(sa.or_(t.c.grid_id.in_(named), t.c.worker_id == worker_id))

    found: dict[uuid.UUID, appointments.Hold] = {}
    if grids is not None:
        for r in await conn.execute(rows_of(grids)):
            found[r.grid_id] = appointments.Hold(r.worker_id, BEFORE_HOLDS)
    for r in await conn.execute(rows_of(holds)):
        found[r.grid_id] = appointments.Hold(r.worker_id, stored(r.decided_at))
    return found


async def _record(
    conn: AsyncConnection,
    holds: sa.Table,
    grids: sa.Table | None,
    changed: Mapping[uuid.UUID, appointments.Hold],
) -> None:
    if not changed:
        return
    ids = list(changed)
    await conn.execute(sa.delete(holds).where(holds.c.grid_id.in_(ids)))
    decided = [
        {"grid_id": grid_id, "worker_id": hold.worker_id, "decided_at": utc(hold.at)}
        for grid_id, hold in changed.items()
    ]
    await conn.execute(sa.insert(holds), decided)
    if grids is None:
        return
    await conn.execute(sa.delete(grids).where(grids.c.grid_id.in_(ids)))
    taken = [{"grid_id": g, "worker_id": h.worker_id} for g, h in changed.items() if h.worker_id]
    if taken:
        await conn.execute(sa.insert(grids), taken)


async def holds_with_accounts(
    conn: AsyncConnection, holds: sa.Table, accounts: sa.Table, grid_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[appointments.Hold, str | None]]:
    """The holds of ``grid_ids`` (a grid never decided about is missing), each with its worker's
    account in ``accounts`` (None: unknown), in one query for a batch's grids."""
    found = await conn.execute(
        sa.select(holds.c.grid_id, holds.c.worker_id, holds.c.decided_at, accounts.c.account)
        .select_from(holds.outerjoin(accounts, accounts.c.worker_id == holds.c.worker_id))
        .where(holds.c.grid_id.in_(list(grid_ids)))
    )
    return {
        r.grid_id: (appointments.Hold(r.worker_id, stored(r.decided_at)), r.account) for r in found
    }


async def worker_of(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], grid_id: Any
) -> tuple[Any, str] | None:
    """The worker responsible for a grid (their id and account), if the roster knows one."""
    grids, workers = tables["grids"], tables["workers"]
    row = (
        await conn.execute(
            sa.select(workers.c.worker_id, workers.c.account)
            .join(grids, grids.c.worker_id == workers.c.worker_id)
            .where(grids.c.grid_id == grid_id, workers.c.left_on.is_(None))
        )
    ).first()
    return (row.worker_id, row.account) if row is not None else None


async def grid_code(conn: AsyncConnection, tables: Mapping[str, sa.Table], grid_id: Any) -> Any:
    """A grid's code (None when the roster does not know the grid)."""
    places = tables["places"]
    return await conn.scalar(
        sa.select(places.c.code).where(places.c.place_id == grid_id, places.c.kind == "grid")
    )
