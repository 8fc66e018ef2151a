"""Where the views' runners stand: their source positions (saved in the transaction of every
batch they apply, with the batch's rows) and how many events each holds parked. Equal
standings, equal rows: what a live page's ETag is made of (``web.live``), and, narrowed to the
dashboard's and the roster's runners, what the dashboards' kept answers are keyed on
(``dashboard_queries.applied_state``)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.runner_state import parked, positions


@cache
def _standing_query(projections: tuple[str, ...] | None) -> sa.Executable:
    """Built once per filter: the runners' tables are the same for every generation."""
    moved = sa.select(
        positions.c.projection, positions.c.generation, positions.c.source_key,
        positions.c.position,
    )  # fmt: skip
    held = (
        sa.select(
            parked.c.projection, parked.c.generation, sa.literal("parked"),
            sa.cast(sa.func.count(), sa.String),
        )
        .group_by(parked.c.projection, parked.c.generation)
    )  # fmt: skip
    if projections is not None:
        moved = moved.where(positions.c.projection.in_(projections))
        held = held.where(parked.c.projection.in_(projections))
    return sa.union_all(moved, held)


async def standing(
    conn: AsyncConnection, *, projections: Iterable[str] | None = None
) -> list[tuple[str, ...]]:
    """Every runner's positions and parked count (or only those of ``projections``' runners),
    in a stable order."""
    key = None if projections is None else tuple(sorted(set(projections)))
    rows = await conn.execute(_standing_query(key))
    return sorted(tuple(str(v) for v in row) for row in rows)
