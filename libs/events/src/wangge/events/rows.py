"""A read model's rows, written with SQL or folded in memory for streams that start in a batch.

An intake, a reaction's batch or a rebuild starts many streams at once; each stream's events
(a case opened, then assigned) would cost an INSERT and an UPDATE per event. A projection whose
handlers write through :func:`insert_row` and :func:`update_row` (and read a row with
:func:`read_row`) gets :func:`fold_new_streams` for its ``apply_many``: the new streams' events
change rows in memory, and each table is written once, with their final rows. The rows are the
same as applying the events one by one leaves, which each such projection proves with a test
that rebuilds both ways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from wangge.events.db import insert_many
from wangge.events.envelope import RecordedEvent
from wangge.events.projection import ApplyContext, Projection


class _OneMore:
    def __repr__(self) -> str:
        return "ONE_MORE"


ONE_MORE: Any = _OneMore()
"""A counter's change: one more than it was."""


@dataclass(frozen=True, slots=True)
class Swap:
    """A column's change only from one value: ``old`` becomes ``new``, any other value stays (a
    case assigned while opened is assigned; assigned again later, it keeps its status)."""

    old: Any
    new: Any


@dataclass(frozen=True)
class Folding(ApplyContext):
    """Applying new streams in memory: their rows, by table and primary key."""

    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    writes: bool = True
    """Whether a change to a row not held here is written with SQL (not when only reckoning)."""


def _key(table: sa.Table, values: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(values[column.name] for column in table.primary_key.columns)


async def insert_row(ctx: ApplyContext, table: str, row: Mapping[str, Any]) -> None:
    """Insert a row of ``ctx.tables[table]`` (held until the batch's end when folding)."""
    if isinstance(ctx, Folding):
        ctx.rows.setdefault(table, {})[_key(ctx.tables[table], row)] = dict(row)
        return
    await ctx.conn.execute(sa.insert(ctx.tables[table]).values(**row))


async def update_row(
    ctx: ApplyContext, table: str, key: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """Change the row of ``ctx.tables[table]`` with primary key ``key``: each value is the new
    one, :data:`ONE_MORE` or a :class:`Swap`. A row not held in memory is updated with SQL."""
    t = ctx.tables[table]
    if isinstance(ctx, Folding):
        row = ctx.rows.get(table, {}).get(_key(t, key))
        if row is not None:
            for name, change in values.items():
                row[name] = _folded(row.get(name), change)  # absent: NULL
            return
        if not ctx.writes:
            return
    changes = {name: _expression(t.c[name], change) for name, change in values.items()}
    await ctx.conn.execute(
        sa.update(t).where(*(t.c[name] == value for name, value in key.items())).values(**changes)
    )


async def read_row(
    ctx: ApplyContext, table: str, key: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The row of ``ctx.tables[table]`` with primary key ``key``, from memory when folding."""
    t = ctx.tables[table]
    if isinstance(ctx, Folding):
        held = ctx.rows.get(table, {}).get(_key(t, key))
        if held is not None:
            return held
    found = await ctx.conn.execute(
        sa.select(t).where(*(t.c[name] == value for name, value in key.items()))
    )
    row = found.mappings().first()
    return dict(row) if row is not None else None


def _folded(current: Any, change: Any) -> Any:
    if change is ONE_MORE:
        return current + 1
    if isinstance(change, Swap):
        return change.new if current == change.old else current
    return change


def _expression(column: sa.Column[Any], change: Any) -> Any:
    if change is ONE_MORE:
        return column + 1
    if isinstance(change, Swap):
        return sa.case((column == change.old, change.new), else_=column)
    return change


async def fold_new_streams(
    projection: Projection,
    ctx: ApplyContext,
    events: Sequence[RecordedEvent],
    new_streams: set[str],
) -> None:
    """Apply the events of streams that start in this batch in memory and insert their final
    rows (one write per table), then the other streams' events one by one.

    A new stream's rows are its own (keyed by its id), so the other streams' events, applied
    after them, are applied as they would have been in order.
    """
    folding = Folding(conn=ctx.conn, tables=ctx.tables, inline_once=ctx.inline_once)
    for event in events:
        if event.stream_id in new_streams:
            await projection.apply(folding, event)
    for table, rows in folding.rows.items():
        await insert_many(ctx.conn, ctx.tables[table], list(rows.values()))
    for event in events:
        if event.stream_id not in new_streams:
            await projection.apply(ctx, event)


async def rows_of(
    projection: Projection, ctx: ApplyContext, events: Sequence[RecordedEvent]
) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """The rows ``events`` of streams that start with them make, reckoned in memory and never
    written: what a command answers with, without reading back the rows its inline projection
    has just written (by table, then primary key)."""
    reckoning = Folding(conn=ctx.conn, tables=ctx.tables, inline_once=ctx.inline_once, writes=False)
    for event in events:
        if event.envelope.type in projection.handled_types:
            await projection.apply(reckoning, event)
    return reckoning.rows
