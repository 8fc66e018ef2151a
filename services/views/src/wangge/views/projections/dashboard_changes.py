"""What an event does to the dashboard's fact rows, as data (``Change``), and the two ways of
making it: one event at a time with SQL (:func:`execute`), or a whole batch folded in memory
and written once per table (:class:`Batch`).

A rebuild applies thousands of events per batch; one by one, each cost the dashboard two to
five statements, and building and sending them was nearly all of a rebuild's time (3,516
events of the small synthetic subdistrict in 11 s). Both ways read the same changes, so the
rows they leave can differ only in how a change is made, which the rebuild-both-ways test in
``tests/handlers/test_dashboard_batches.py`` compares.

The batch loads every row its changes may read or rewrite, grouped as the changes reach them:
a table's rows by their primary key, but a case's spans, a person's residence periods and
tags all together (a case is closed by whichever span stands open; a move ends the current
period). Folded in the batch's order, the groups' final rows replace the stored ones: one
select, one delete (of the groups that had rows) and one insert per table. What one-by-one
application leaves is what the fold leaves, because a change reads and writes only its own
group and every group it touches was loaded whole before the first change.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext
from wangge.views.projections.batching import in_order

GROUPS: Mapping[str, tuple[str, ...]] = {
    "tickets": ("ticket_id",),
    "cases": ("case_id",),
    "case_spans": ("case_id",),
    "care_plans": ("plan_id",),
    "care_visits": ("visit_id",),
    "residents": ("person_id",),
    "tags": ("person_id",),
    "hazards": ("thing_id",),
    "sessions": ("session_id",),
    "attendance": ("session_id", "worker_id"),
    "scores": ("session_id", "worker_id"),
    "programmes": ("programme_id",),
    "members": ("programme_id", "worker_id"),
}
"""The columns a table's rows are loaded and rewritten by: every change names them, and reads
or writes no row outside its group."""

IN_CHUNK = 500
"""Groups named in one statement's IN list (two columns each at most): far below PostgreSQL's
and SQLite's limits on bound parameters, whatever the batch size."""


@dataclass(frozen=True, slots=True)
class Upsert:
    """The row keyed by ``key`` becomes ``key`` and ``values`` (any row it replaces is gone;
    a column named in neither is NULL)."""

    table: str
    key: Mapping[str, Any]
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Update:
    """The rows matching ``where`` (a value of None: the column is NULL) take ``values``; no
    row matching, nothing happens."""

    table: str
    where: Mapping[str, Any]
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OpenSpan:
    """A case opened (or reopened) at ``at``: a span keyed by the event's version, unless one
    stands open already (a case already open is not opened again)."""

    case_id: uuid.UUID
    version: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Reside:
    """A person's new residence period from ``since``, the current one ending there: a move
    in makes a moved-out person a resident again; a move out leaves no dwelling (the
    registry's person fold)."""

    person_id: uuid.UUID
    version: int
    since: date
    status: str | None = None
    moved_in: uuid.UUID | None = None
    left: uuid.UUID | None = None


Change = Upsert | Update | OpenSpan | Reside


def group_of(change: Change) -> tuple[str, tuple[Any, ...]]:
    """The table and the group a change reads and writes."""
    if isinstance(change, OpenSpan):
        return "case_spans", (change.case_id,)
    if isinstance(change, Reside):
        return "residents", (change.person_id,)
    named = change.key if isinstance(change, Upsert) else change.where
    return change.table, tuple(named[column] for column in GROUPS[change.table])


def _matches(row: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    return all(row[k] is None if v is None else row[k] == v for k, v in where.items())


def _where(table: sa.Table, where: Mapping[str, Any]) -> list[Any]:
    return [table.c[k].is_(None) if v is None else table.c[k] == v for k, v in where.items()]


def _resided(now: Mapping[str, Any] | None, change: Reside) -> dict[str, Any]:
    """The new period's row, from the current one (None: the person had none); a merged
    record's period stays merged."""
    dwelling = now["dwelling_id"] if now is not None else None
    placed = now["placed_at"] if now is not None else None
    was = now["status"] if now is not None else "resident"
    if change.moved_in is not None:
        dwelling = placed = change.moved_in
        was = "resident" if was == "moved_out" else was
    if change.status == "moved_out":
        placed = change.left if change.left is not None else placed
        dwelling = None
    return {
        "person_id": change.person_id, "version": change.version, "since": change.since,
        "until": None, "status": change.status or was, "dwelling_id": dwelling,
        "placed_at": placed, "current": True,
        "merged": bool(now["merged"]) if now is not None else False,
    }  # fmt: skip


# -- one at a time, with SQL -------------------------------------------------------------------


async def execute(ctx: ApplyContext, changes: Iterable[Change]) -> None:
    """Make ``changes`` in order, each with its own statements (the slow twin of
    :class:`Batch`, and what an event applied alone costs)."""
    for change in changes:
        if isinstance(change, Upsert):
            await _upsert(ctx, change.table, change.key, change.values)
        elif isinstance(change, Update):
            t = ctx.tables[change.table]
            await ctx.conn.execute(
                sa.update(t).where(*_where(t, change.where)).values(**change.values)
            )
        elif isinstance(change, OpenSpan):
            spans = ctx.tables["case_spans"]
            still = await ctx.conn.scalar(
                sa.select(sa.func.count())
                .select_from(spans)
                .where(spans.c.case_id == change.case_id, spans.c.closed_at.is_(None))
            )
            if not still:
                await _upsert(
                    ctx, "case_spans", {"case_id": change.case_id, "version": change.version},
                    {"opened_at": change.at, "closed_at": None},
                )  # fmt: skip
        else:
            residents = ctx.tables["residents"]
            mine = (residents.c.person_id == change.person_id, residents.c.current)
            now = (await ctx.conn.execute(sa.select(residents).where(*mine))).first()
            row = _resided(dict(now._mapping) if now is not None else None, change)
            await ctx.conn.execute(
                sa.update(residents).where(*mine).values(until=change.since, current=False)
            )
            key = {"person_id": change.person_id, "version": change.version}
            await _upsert(ctx, "residents", key, row)


async def _upsert(
    ctx: ApplyContext, table: str, key: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """A row keyed by ``key`` with ``values`` (an event delivered twice writes it again)."""
    t = ctx.tables[table]
    await ctx.conn.execute(sa.delete(t).where(*(t.c[k] == v for k, v in key.items())))
    await ctx.conn.execute(sa.insert(t).values(**{**values, **key}))


# -- a batch, folded in memory ------------------------------------------------------------------


class Batch:
    """A batch's changes folded in memory over the rows they reach, then written per table."""

    def __init__(self, tables: Mapping[str, sa.Table]) -> None:
        self.tables = tables
        self.keys = {
            name: tuple(c.name for c in table.primary_key.columns) for name, table in tables.items()
        }
        # table -> group -> primary key -> row
        self.rows: dict[str, dict[tuple[Any, ...], dict[tuple[Any, ...], dict[str, Any]]]] = (
            defaultdict(dict)
        )
        self.stored: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        """The groups that had rows in the database (deleted before the final rows go in)."""
        self.dirty: dict[str, set[tuple[Any, ...]]] = defaultdict(set)

    async def apply(self, conn: AsyncConnection, changes: Sequence[Change]) -> None:
        """Load what ``changes`` reach, fold them in order, write the changed groups."""
        reached: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        grouped = [(change, *group_of(change)) for change in changes]
        for _change, table, group in grouped:
            reached[table].add(group)
        for table, groups in reached.items():
            await self._load(conn, table, groups)
        for change, table, group in grouped:
            self._fold(change, table, group)
        for table in self.dirty:
            await self._write(conn, table)

    def _group_filter(self, table: str, groups: Sequence[tuple[Any, ...]]) -> Any:
        t, columns = self.tables[table], GROUPS[table]
        if len(columns) == 1:
            return t.c[columns[0]].in_([g[0] for g in groups])
        return sa.tuple_(*(t.c[c] for c in columns)).in_(groups)

    async def _load(self, conn: AsyncConnection, table: str, groups: set[tuple[Any, ...]]) -> None:
        t, columns, key = self.tables[table], GROUPS[table], self.keys[table]
        held = self.rows[table]
        for group in groups:
            held[group] = {}
        ordered = in_order(groups)
        for start in range(0, len(ordered), IN_CHUNK):
            chunk = ordered[start : start + IN_CHUNK]
            found = await conn.execute(sa.select(t).where(self._group_filter(table, chunk)))
            for row in found.mappings():
                group = tuple(row[c] for c in columns)
                held[group][tuple(row[c] for c in key)] = dict(row)
                self.stored[table].add(group)

    def _fold(self, change: Change, table: str, group: tuple[Any, ...]) -> None:
        rows = self.rows[table][group]
        self.dirty[table].add(group)
        if isinstance(change, Upsert):
            row = {**change.values, **change.key}
            rows[tuple(row[c] for c in self.keys[table])] = row
        elif isinstance(change, Update):
            for row in rows.values():
                if _matches(row, change.where):
                    row.update(change.values)
        elif isinstance(change, OpenSpan):
            if not any(row["closed_at"] is None for row in rows.values()):
                rows[(change.case_id, change.version)] = {
                    "case_id": change.case_id, "version": change.version,
                    "opened_at": change.at, "closed_at": None,
                }  # fmt: skip
        else:
            # at most one period is current: each new one ends the one before
            now = next((row for row in rows.values() if row["current"]), None)
            new = _resided(now, change)
            for row in rows.values():
                if row["current"]:
                    row.update(until=change.since, current=False)
            rows[(change.person_id, change.version)] = new

    async def _write(self, conn: AsyncConnection, table: str) -> None:
        t, dirty = self.tables[table], in_order(self.dirty[table])
        gone = [g for g in dirty if g in self.stored[table]]
        for start in range(0, len(gone), IN_CHUNK):
            await conn.execute(
                sa.delete(t).where(self._group_filter(table, gone[start : start + IN_CHUNK]))
            )
        held = self.rows[table]
        # as they stand: a column a row leaves out is NULL (insert_many), and copying every row
        # into a dict of every column first was a fortieth of a rebuild
        await insert_many(conn, t, [row for group in dirty for row in held[group].values()])
