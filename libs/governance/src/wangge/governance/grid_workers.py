"""A service's own record of who holds which grid, from the registry's worker events, in tables.

One worker per grid, the newest appointment as the registry recorded them
(``wangge.governance.appointments``): a table of holds keeps, per grid, when the registry last
decided about it and whom it gave the grid to, so that an older appointment arriving late cannot
take it. A copy may keep a plain grid -> worker table beside it (the roster's ``grids``, which its
readers join), written in the same statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.appointments import Hold, appoint, leave, won
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.times import stored, utc

UUID = sa.Uuid(as_uuid=True)

BEFORE_HOLDS = datetime.min.replace(tzinfo=UTC)
"""The decision time of a grid -> worker row kept before the holds table existed: unknown, so any
appointment recorded since is newer."""


def grid_holds(name: str, metadata: sa.MetaData) -> sa.Table:
    """A table of when the registry last decided about each grid, and whom it gave the grid to
    (none: given up), so that an older appointment arriving late cannot take it."""
    return sa.Table(
        name,
        metadata,
        sa.Column("grid_id", UUID, primary_key=True),
        sa.Column("worker_id", UUID, index=True),
        sa.Column("decided_at", TIME_COLUMN, nullable=False),
    )


def worker_grids(name: str, metadata: sa.MetaData) -> sa.Table:
    """A table of the grids that have a worker now, and whose (the holds' answer, joined)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("grid_id", UUID, primary_key=True),
        sa.Column("worker_id", UUID, nullable=False, index=True),
    )


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
    changed = appoint(held, worker_id=worker_id, grid_ids=grid_ids, at=at)
    await _record(conn, holds, grids, changed)
    return won(changed, worker_id)


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
    await _record(conn, holds, grids, leave(held, worker_id=worker_id, at=at))


async def _held(
    conn: AsyncConnection,
    holds: sa.Table,
    grids: sa.Table | None,
    worker_id: uuid.UUID,
    grid_ids: Collection[uuid.UUID],
) -> dict[uuid.UUID, Hold]:
    """The holds of ``grid_ids`` and of the worker's grids."""
    named = list(grid_ids)

    def rows_of(t: sa.Table) -> sa.Select[Any]:
        return sa.select(t).where(sa.or_(t.c.grid_id.in_(named), t.c.worker_id == worker_id))

    found: dict[uuid.UUID, Hold] = {}
    if grids is not None:
        for r in await conn.execute(rows_of(grids)):
            found[r.grid_id] = Hold(r.worker_id, BEFORE_HOLDS)
    for r in await conn.execute(rows_of(holds)):
        found[r.grid_id] = Hold(r.worker_id, stored(r.decided_at))
    return found


async def _record(
    conn: AsyncConnection,
    holds: sa.Table,
    grids: sa.Table | None,
    changed: Mapping[uuid.UUID, Hold],
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
) -> dict[uuid.UUID, tuple[Hold, str | None]]:
    """The holds of ``grid_ids`` (a grid never decided about is missing), each with its worker's
    account in ``accounts`` (None: unknown), in one query for a batch's grids."""
    found = await conn.execute(
        sa.select(holds.c.grid_id, holds.c.worker_id, holds.c.decided_at, accounts.c.account)
        .select_from(holds.outerjoin(accounts, accounts.c.worker_id == holds.c.worker_id))
        .where(holds.c.grid_id.in_(list(grid_ids)))
    )
    return {r.grid_id: (Hold(r.worker_id, stored(r.decided_at)), r.account) for r in found}
