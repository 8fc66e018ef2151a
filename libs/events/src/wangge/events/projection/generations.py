"""Which generation of a projection's tables readers query.

A rebuild fills a new generation while the old one serves, then swaps them in one transaction
and drops the old tables; readers look the active generation up in the memo their engine
carries (``wangge.events.runner_state.GenerationMemo``).
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.projection.declaring import Projection
from wangge.events.runner_state import generation_memo, generations, read_generation


async def active_generation(conn: AsyncConnection, projection: str, *, fresh: bool = False) -> int:
    """The generation readers should query (0 before the projection's first start), at most
    :data:`~wangge.events.tuning.GENERATION_MEMO_SECONDS` old unless ``fresh`` (always fresh
    on an engine that carries no memo)."""
    memo = generation_memo(conn)
    if memo is None:
        return await read_generation(conn, projection)
    return await memo.active(conn, projection, fresh=fresh)


async def active_tables(conn: AsyncConnection, projection: Projection) -> Mapping[str, sa.Table]:
    """The tables readers query: the active generation's (a projection that never started has
    none, which is a :class:`LookupError`)."""
    generation = await active_generation(conn, projection.name)
    if not generation:
        raise LookupError(f"projection {projection.name} has not started")
    return projection.tables(generation)


async def active_generations(conn: AsyncConnection) -> dict[str, int]:
    """Every projection's active generation, in one query (a read touching several models)."""
    rows = await conn.execute(sa.select(generations.c.projection, generations.c.generation))
    return {row.projection: row.generation for row in rows}
