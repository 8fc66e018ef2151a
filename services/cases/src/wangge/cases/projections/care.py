"""Care plans and their visits as rows, and the queries the plan views, the inbox and the
erasure ask of them: what is due and missed is derived from them, never stored."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.domain import care
from wangge.cases.domain.care import (
    CarePlanDataErased,
    CarePlanEnded,
    CarePlanStarted,
    CareVisitRecorded,
)
from wangge.cases.domain.cases import ERASED
from wangge.cases.domain.erasure import ResidentDataErased
from wangge.cases.personal_data import opened
from wangge.cases.projections.residents import merged_into
from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.sealing import KeyRing
from wangge.events.store import EventStore

UUID = sa.Uuid(as_uuid=True)
Tables = Mapping[str, sa.Table]
Row = sa.Row[*tuple[Any, ...]]
"""A row of one of the tables (any columns)."""


class CarePlans(Projection):
    """One row per plan; one per visit (its measurements stay sealed in the log)."""

    name = "cases_care_plans"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        plans = sa.Table(
            f"care_plans{suffix}",
            metadata,
            sa.Column("plan_id", UUID, primary_key=True),
            sa.Column("resident", sa.String(100), nullable=False, index=True),
            sa.Column("resident_masked", sa.String(60), nullable=False),
            sa.Column("grid_id", UUID, nullable=False, index=True),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("every_days", sa.Integer, nullable=False),
            sa.Column("worker_account", sa.String(200), nullable=False, index=True),
            sa.Column("starts_on", sa.Date, nullable=False),
            sa.Column("ended_on", sa.Date),
            sa.Column("ended_reason", sa.String(500)),
            sa.Column("last_visit_on", sa.Date),
            sa.Column("visits", sa.Integer, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
        )
        visits = sa.Table(
            f"care_visits{suffix}",
            metadata,
            sa.Column("visit_id", UUID, primary_key=True),
            sa.Column("plan_id", UUID, nullable=False, index=True),
            sa.Column("visited_on", sa.Date, nullable=False),
            sa.Column("by", sa.String(200), nullable=False),
            sa.Column("note", sa.Text, nullable=False),
            sa.Column("measured", sa.Boolean, nullable=False),
        )
        return {"plans": plans, "visits": visits}

    @handles(CarePlanStarted)
    async def on_started(self, ctx: ApplyContext, event: RecordedEvent[CarePlanStarted]) -> None:
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["plans"]).values(
                plan_id=d.plan_id, resident=d.resident, resident_masked=d.resident_masked,
                grid_id=d.grid_id, kind=d.kind, every_days=d.every_days,
                worker_account=d.worker_account, starts_on=d.starts_on, visits=0,
                version=event.version,
            )
        )  # fmt: skip

    @handles(CareVisitRecorded)
    async def on_visit(self, ctx: ApplyContext, event: RecordedEvent[CareVisitRecorded]) -> None:
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["visits"]).values(
                visit_id=d.visit_id, plan_id=d.plan_id, visited_on=d.visited_on, by=d.by,
                note=d.note, measured=d.measurements is not None,
            )
        )  # fmt: skip
        p = ctx.tables["plans"]
        last = sa.case(
            (sa.or_(p.c.last_visit_on.is_(None), p.c.last_visit_on < d.visited_on), d.visited_on),
            else_=p.c.last_visit_on,
        )
        await ctx.conn.execute(
            sa.update(p)
            .where(p.c.plan_id == d.plan_id)
            .values(last_visit_on=last, visits=p.c.visits + 1, version=event.version)
        )

    @handles(CarePlanEnded)
    async def on_ended(self, ctx: ApplyContext, event: RecordedEvent[CarePlanEnded]) -> None:
        d = event.data
        p = ctx.tables["plans"]
        await ctx.conn.execute(
            sa.update(p)
            .where(p.c.plan_id == d.plan_id)
            .values(ended_on=d.ended_on, ended_reason=d.reason, version=event.version)
        )

    @handles(CarePlanDataErased)
    async def on_erased(self, ctx: ApplyContext, event: RecordedEvent[CarePlanDataErased]) -> None:
        d = event.data
        p = ctx.tables["plans"]
        await ctx.conn.execute(
            sa.update(p).where(p.c.plan_id == d.plan_id).values(version=event.version)
        )

    @handles(ResidentDataErased)
    async def on_resident_erased(
        self, ctx: ApplyContext, event: RecordedEvent[ResidentDataErased]
    ) -> None:
        """The resident is shown as erased on each of their plans."""
        d = event.data
        p = ctx.tables["plans"]
        await ctx.conn.execute(
            sa.update(p).where(p.c.resident == str(d.person_id)).values(resident_masked=ERASED)
        )


# -- queries --------------------------------------------------------------------------------------


async def plan(conn: AsyncConnection, tables: Tables, plan_id: uuid.UUID) -> Row | None:
    """A plan's row."""
    p = tables["plans"]
    return (await conn.execute(sa.select(p).where(p.c.plan_id == plan_id))).first()


async def visits(conn: AsyncConnection, tables: Tables, plan_id: uuid.UUID) -> list[Row]:
    """A plan's visits, in the order they were made."""
    v = tables["visits"]
    query = sa.select(v).where(v.c.plan_id == plan_id).order_by(v.c.visited_on)
    return list((await conn.execute(query)).all())


def schedule_of(row: Any, visited: set[date], today: date) -> care.Schedule:
    """Where a plan row stands today, given the days it was visited."""
    return care.schedule(row.starts_on, row.every_days, frozenset(visited), today, row.ended_on)


async def visits_due(
    conn: AsyncConnection, tables: Tables, account: str, *, today: date
) -> list[tuple[Row, care.Schedule]]:
    """The account's running plans with a visit due or missed, and where each stands."""
    p, v = tables["plans"], tables["visits"]
    running = (
        await conn.execute(
            sa.select(p).where(p.c.worker_account == account, p.c.ended_on.is_(None))
        )
    ).all()
    visited: dict[uuid.UUID, set[date]] = {}
    if running:
        made = sa.select(v.c.plan_id, v.c.visited_on).where(
            v.c.plan_id.in_([row.plan_id for row in running])
        )
        for row in await conn.execute(made):
            visited.setdefault(row.plan_id, set()).add(row.visited_on)
    due: list[tuple[Row, care.Schedule]] = []
    for row in running:
        schedule = schedule_of(row, visited.get(row.plan_id, set()), today)
        if schedule.due_on is not None or schedule.missed:
            due.append((row, schedule))
    return due


async def of_resident(
    conn: AsyncConnection, tables: Tables, resident: str, *, merges: sa.Table | None
) -> list[uuid.UUID]:
    """The plans of a resident (by pseudonymous id), also of a record merged into them
    (``merges``: a copy of the registry's merges; None: none known)."""
    records = await merged_into(conn, merges, resident)
    p = tables["plans"]
    return list(await conn.scalars(sa.select(p.c.plan_id).where(p.c.resident.in_(records))))


async def texts_in_full(
    conn: AsyncConnection, store: EventStore, ring: KeyRing, plan_id: uuid.UUID
) -> tuple[dict[uuid.UUID, str], str | None] | None:
    """The plan's texts in full while its key lives (the rows keep redacted copies): each
    visit's note, and why it ended; None once the key was erased."""
    key = await ring.key(conn, plan_id)
    if key is None:
        return None
    notes: dict[uuid.UUID, str] = {}
    ended_reason = None
    for event in await store.read_stream(care.stream_id(plan_id)):
        data = opened(key, event.data)
        if isinstance(data, CareVisitRecorded):
            notes[data.visit_id] = data.note
        elif isinstance(data, CarePlanEnded):
            ended_reason = data.reason
    return notes, ended_reason


async def measurements(
    conn: AsyncConnection, store: EventStore, ring: KeyRing, plan_id: uuid.UUID
) -> list[tuple[CareVisitRecorded, dict[str, Any] | None]]:
    """Each visit and its measurements, unsealed (None without any, or once the plan's key was
    erased)."""
    key = await ring.key(conn, plan_id)
    out = []
    for event in await store.read_stream(care.stream_id(plan_id)):
        if isinstance(event.data, CareVisitRecorded):
            sealed = event.data.measurements
            values = ring.unseal(key, sealed) if sealed is not None and key else None
            out.append((event.data, values))
    return out
