"""A batch of events applied in memory and written with a few statements per table.

A view's handlers write one event at a time: an INSERT or two per event, most of a rebuild's
time spent building statements and waiting on round trips. ADR 0004's fold keeps the rows of
streams that *start* in a batch in memory; the views' fact rows are nearly all inserts keyed
by the event (a case's step, a ticket's step, a matter's step), so the whole batch is folded,
whichever streams it continues: the handlers write through :func:`add_row`, :func:`replace_row`
and :func:`wangge.events.rows.update_row`, which hold the batch's rows in memory, and
:func:`apply_batched` writes each table once at the batch's end.

The rows are what applying the events one by one leaves, because every change reaches a row
where it would have: a row the batch inserted is held, and changed in memory in event order; a
row from before the batch is changed with SQL at once (``update_row``'s fall-through), before
any of the batch's rows exist in the database, so the SQL sees only the rows it would have seen
then; a replaced row from before the batch is deleted (all of a table's at once) before the
held rows are inserted, and nothing else changes a replaced table's rows. Each view using it
keeps a one-by-one twin in its tests and compares every row.

A view that reads its own rows to decide (the feeds: a person's status, a plan's visits, the
position counter) reads them through :func:`row_of` and changes them through
:func:`change_row`: a row from before the batch is read once (those the batch's events name all
at once, ``apply_batched(reads=...)``, one query per table) and, once changed, held as a
replaced row, so nothing is written before the batch's end and every read sees what the events
before it left. A table is changed either so or with ``update_row``'s SQL, never both.

The switch is ADR 0004's: with ``WANGGE_FAST_PATHS=no-folding`` a view applies one event at a
time (:func:`batching`), the contract the one-by-one twin checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from wangge.events import RecordedEvent, tuning
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection
from wangge.events.rows import Folding

DELETES_PER_STATEMENT = 500
"""Keys per DELETE: well under SQLite's (and asyncpg's) bound on a statement's parameters."""


@dataclass(frozen=True)
class Batch(Folding):
    """A batch being applied in memory: its rows by table and key (:class:`Folding`), the
    streams that start in it, and the keys of rows from before it to delete before the batch's
    rows are inserted."""

    new_streams: frozenset[str] = frozenset()
    gone: dict[str, set[tuple[Any, ...]]] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)
    """What a view remembers of the batch's rows to find them again by other keys than theirs."""
    before: dict[str, dict[tuple[Any, ...], dict[str, Any] | None]] = field(default_factory=dict)
    """Rows from before the batch read so far, by table and key (None: there was none). The
    batch writes nothing before its end, so they stay what the database holds."""


def starts_here(ctx: ApplyContext, event: RecordedEvent) -> bool:
    """Whether the event's stream starts in this batch: no row its events keyed can be in the
    database yet (the runner applies each stream's events once, in order)."""
    return isinstance(ctx, Batch) and event.stream_id in ctx.new_streams


def key_of(table: sa.Table, values: Mapping[str, Any]) -> tuple[Any, ...]:
    """A row's primary key, in the table's order of its columns."""
    return tuple([values[name] for name in _key_names(table)])


@functools.lru_cache(maxsize=512)
def _key_names(table: sa.Table) -> tuple[str, ...]:
    # asked for every row a batch holds: walking the key's column collection each time was a
    # twentieth of a rebuild (a few tables per generation, so a small cache holds them all)
    return tuple(column.name for column in table.primary_key.columns)


def held(ctx: ApplyContext, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The rows of ``table`` a batch holds (none outside one)."""
    return ctx.rows.setdefault(table, {}) if isinstance(ctx, Batch) else {}


async def add_row(ctx: ApplyContext, table: str, row: Mapping[str, Any]) -> None:
    """Insert a row (held until the batch's end in a batch)."""
    t = ctx.tables[table]
    if not isinstance(ctx, Batch):
        await ctx.conn.execute(sa.insert(t).values(**row))
        return
    rows = ctx.rows.setdefault(table, {})
    key = key_of(t, row)
    if key in rows:
        # as the INSERT would: the runner then applies the batch one event at a time and parks
        # the event at fault, rather than the batch keeping the later row silently
        raise sa.exc.IntegrityError(
            f"INSERT {t.name}: {key!r} twice in one batch", None, Exception()
        )
    rows[key] = dict(row)


async def replace_row(
    ctx: ApplyContext, table: str, row: Mapping[str, Any], *, fresh: bool = False
) -> None:
    """Insert a row in place of any with its key (an event applied again leaves one row).

    ``fresh``: no row with this key can be in the database yet (its stream starts in the
    batch), so nothing is deleted."""
    t = ctx.tables[table]
    key = key_of(t, row)
    if isinstance(ctx, Batch):
        rows = ctx.rows.setdefault(table, {})
        if key not in rows and not fresh:
            ctx.gone.setdefault(table, set()).add(key)
        rows[key] = dict(row)
        return
    columns = list(t.primary_key.columns)
    await ctx.conn.execute(sa.delete(t).where(*(c == v for c, v in zip(columns, key, strict=True))))
    await ctx.conn.execute(sa.insert(t).values(**row))


async def read_rows(ctx: ApplyContext, table: str, keys: Iterable[tuple[Any, ...]]) -> None:
    """Read the rows of ``table`` from before the batch with these keys, one query per
    :data:`DELETES_PER_STATEMENT` keys, so that :func:`row_of` finds them without asking (a
    no-op outside a batch)."""
    if not isinstance(ctx, Batch):
        return
    t, rows = ctx.tables[table], ctx.rows.get(table, {})
    before = ctx.before.setdefault(table, {})
    wanted = in_order({k for k in keys if k not in rows and k not in before})
    columns = list(t.primary_key.columns)
    for start in range(0, len(wanted), DELETES_PER_STATEMENT):
        chunk = wanted[start : start + DELETES_PER_STATEMENT]
        before.update(dict.fromkeys(chunk))
        found = await ctx.conn.execute(sa.select(t).where(_among(columns, chunk)))
        for row in found.mappings():
            values = dict(row)
            before[key_of(t, values)] = values


async def row_of(ctx: ApplyContext, table: str, key: tuple[Any, ...]) -> dict[str, Any] | None:
    """The row of ``table`` with primary key ``key`` as the events so far leave it (None: no
    such row); in a batch, held by the batch or read from before it (not to be changed in
    place: through :func:`change_row`)."""
    t = ctx.tables[table]
    if not isinstance(ctx, Batch):
        columns = list(t.primary_key.columns)
        found = await ctx.conn.execute(
            sa.select(t).where(*(c == v for c, v in zip(columns, key, strict=True)))
        )
        row = found.mappings().first()
        return dict(row) if row is not None else None
    held_row = ctx.rows.get(table, {}).get(key)
    if held_row is not None:
        return held_row
    if key not in ctx.before.get(table, {}):
        await read_rows(ctx, table, [key])
    return ctx.before[table][key]


async def change_row(
    ctx: ApplyContext, table: str, key: tuple[Any, ...], values: Mapping[str, Any]
) -> None:
    """Set columns of the row of ``table`` with primary key ``key`` (none: nothing, as the
    UPDATE would). In a batch a row from before it is copied into the batch's rows and replaced
    at its end."""
    t = ctx.tables[table]
    if not isinstance(ctx, Batch):
        columns = list(t.primary_key.columns)
        where = [c == v for c, v in zip(columns, key, strict=True)]
        await ctx.conn.execute(sa.update(t).where(*where).values(**values))
        return
    rows = ctx.rows.setdefault(table, {})
    row = rows.get(key)
    if row is None:
        before = await row_of(ctx, table, key)
        if before is None:
            return
        row = rows[key] = dict(before)
        ctx.gone.setdefault(table, set()).add(key)
    row.update(values)


def batching() -> bool:
    """Whether a view folds its batches (ADR 0004's switch, ``tuning.FastPaths.folding``)."""
    return tuning.FAST_PATHS.folding


Reads = Callable[[RecordedEvent], Iterable[tuple[str, tuple[Any, ...]]]]
"""The rows (table, primary key) an event's handler reads or changes."""


async def apply_batched(
    projection: Projection,
    ctx: ApplyContext,
    events: Sequence[RecordedEvent],
    new_streams: Iterable[str],
    *,
    reads: Reads | None = None,
    memo: Mapping[Any, Any] | None = None,
    streams_own: frozenset[str] = frozenset(),
) -> None:
    """Apply ``events`` in order in memory, then delete the replaced rows from before the batch
    and insert each table's rows at once. ``reads``: the rows each event needs from before the
    batch, read first with one query per table rather than one per event; ``memo``: what the
    view found out about the batch before applying it (:attr:`Batch.memo`); ``streams_own``:
    tables whose row an event names is written only by events of that event's stream, so none
    is read for an event whose stream starts in the batch (a census's people, registered and
    moved in within one batch, were a query per batch that found nothing)."""
    batch = Batch(
        conn=ctx.conn, tables=ctx.tables, inline_once=ctx.inline_once,
        new_streams=frozenset(new_streams), memo=dict(memo or {}),
    )  # fmt: skip
    if reads is not None:
        wanted: dict[str, set[tuple[Any, ...]]] = {}
        for event in events:
            new = event.stream_id in batch.new_streams
            for table, key in reads(event):
                if new and table in streams_own:
                    batch.before.setdefault(table, {})[key] = None  # nothing from before
                    continue
                wanted.setdefault(table, set()).add(key)
        for table, keys in wanted.items():
            await read_rows(batch, table, keys)
    apply = projection.applier()
    for event in events:
        await apply(batch, event)
    for name, keys in batch.gone.items():
        await _delete(batch, ctx.tables[name], in_order(keys))
    for name, rows in batch.rows.items():
        await insert_many(ctx.conn, ctx.tables[name], list(rows.values()))


def in_order(keys: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Keys sorted, so that statements over lists of keys do not follow the order events came
    in: by their own order, or by their text where they do not compare (a None beside a value).
    Their own first: making every key's text (a UUID's repr) cost the dashboard's batches more
    than all their comparisons."""
    keys = list(keys)
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=repr)


async def _delete(ctx: ApplyContext, table: sa.Table, keys: Sequence[tuple[Any, ...]]) -> None:
    columns = list(table.primary_key.columns)
    for start in range(0, len(keys), DELETES_PER_STATEMENT):
        chunk = keys[start : start + DELETES_PER_STATEMENT]
        await ctx.conn.execute(sa.delete(table).where(_among(columns, chunk)))


def _among(columns: Sequence[sa.Column[Any]], keys: Sequence[tuple[Any, ...]]) -> Any:
    if len(columns) == 1:
        return columns[0].in_([k[0] for k in keys])
    return sa.tuple_(*columns).in_(keys)
