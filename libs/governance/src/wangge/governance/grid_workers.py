"""A service's own copy of who covers which grid, from the registry's worker events.

Services that assign work by grid (the cases service) or count a community's workers (training)
keep a table of ``grid_id`` -> ``worker_id``. One worker per grid: an appointment or
reassignment gives the worker exactly the grids it names and takes them from whoever had them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def take_grids(
    conn: AsyncConnection, grids: sa.Table, worker_id: Any, grid_ids: Sequence[Any]
) -> None:
    """The worker now covers exactly ``grid_ids`` (the newest appointment to a grid wins)."""
    await conn.execute(sa.delete(grids).where(grids.c.worker_id == worker_id))
    await conn.execute(sa.delete(grids).where(grids.c.grid_id.in_(grid_ids)))
    if grid_ids:
        await conn.execute(
            sa.insert(grids), [{"grid_id": g, "worker_id": worker_id} for g in grid_ids]
        )


async def leave(
    conn: AsyncConnection, workers: sa.Table, grids: sa.Table, worker_id: Any, on: Any
) -> None:
    """The worker left on ``on``: their row stays (with the day), their grids are free."""
    await conn.execute(
        sa.update(workers).where(workers.c.worker_id == worker_id).values(left_on=on)
    )
    await conn.execute(sa.delete(grids).where(grids.c.worker_id == worker_id))
