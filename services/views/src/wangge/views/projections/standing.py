"""Where the views' runners stand: their source positions (saved in the transaction of every
batch they apply, with the batch's rows) and how many events each holds parked. Equal
standings, equal rows: what a live page's ETag is made of (``web.live``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.runner_state import parked, positions

_STANDING = sa.union_all(
    sa.select(positions.c.projection, positions.c.generation, positions.c.source_key,
              positions.c.position),
    sa.select(parked.c.projection, parked.c.generation, sa.literal("parked"),
              sa.cast(sa.func.count(), sa.String))
    .group_by(parked.c.projection, parked.c.generation),
)  # fmt: skip


async def standing(conn: AsyncConnection) -> list[tuple[Any, ...]]:
    """Every runner's positions and parked count, in a stable order."""
    return sorted(tuple(str(v) for v in row) for row in await conn.execute(_STANDING))
