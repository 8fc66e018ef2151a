"""Which generation of a projection's tables readers query, and when tables need a new one.

A rebuild fills a new generation while the old one serves, then swaps them in one transaction
and drops the old tables; readers look the active generation up in the memo their engine
carries (``wangge.events.runner_state.GenerationMemo``). Tables whose shape a release changed
start a new generation (:func:`reshaped`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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


async def reshaped(conn: AsyncConnection, tables: Sequence[sa.Table]) -> bool:
    """Whether any of ``tables`` exists with other columns, or a text column of another width,
    than declared: its rows cannot be kept, and the projection starts a new generation."""

    def differs(sync: Any) -> bool:
        inspector = sa.inspect(sync)
        for table in tables:
            if inspector.has_table(table.name):
                found = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
                if set(found) != set(table.columns.keys()):
                    return True
                if any(_width_changed(found[c.name], c.type) for c in table.columns):
                    return True
        return False

    return bool(await conn.run_sync(differs))


_TEXT_TYPES = (sa.String, sa.Text, sa.Unicode, sa.UnicodeText, sa.VARCHAR, sa.TEXT)


def _width_changed(found: Any, declared: sa.types.TypeEngine[Any]) -> bool:
    """Whether a text column's width differs from the generation's: a column widened in a new
    release (``String(200)`` to ``Text``) leaves the same names, but the old table would still
    refuse the longer values, and park the streams that carry them. Only plain string types
    are compared (their reflected length is the declared one on both backends); any other
    type, whose reflection differs by backend, never counts as changed."""
    if type(declared) not in _TEXT_TYPES or not isinstance(found, sa.String):
        return False
    return getattr(found, "length", None) != getattr(declared, "length", None)
