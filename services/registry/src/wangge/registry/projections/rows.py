"""What every registry read model does alike: stamp a row with the event that changed it, and
page a list with its optional filters."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext


async def stamp(
    ctx: ApplyContext, event: RecordedEvent, table: str, key: str, value: Any, **values: Any
) -> None:
    """Set ``values`` on the row of ``table`` whose ``key`` column is ``value``, with the
    event's version (the record's ETag) and, where the table keeps it, its time."""
    t = ctx.tables[table]
    if "updated_at" in t.c:
        values = {"updated_at": event.envelope.time, **values}
    await ctx.conn.execute(
        sa.update(t).where(t.c[key] == value).values(version=event.version, **values)
    )


def narrowed(query: sa.Select[Any], *filters: tuple[Any, Any]) -> sa.Select[Any]:
    """``query`` keeping the rows whose column equals the value of each ``(column, value)``
    pair, for the values given (None: any); a query's optional filters."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


async def page_of(
    conn: AsyncConnection, query: sa.Select[Any], *order: Any, page: int, size: int
) -> tuple[list[Any], int]:
    """Page ``page`` (of ``size`` rows, in ``order``) of ``query``'s rows, and how many rows
    it has in all."""
    total = await conn.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = await conn.execute(query.order_by(*order).offset((page - 1) * size).limit(size))
    return list(rows), int(total or 0)
