"""``/inbox``: a grid worker's open cases and care visits due, overdue first; ``/triage``: the
community's cases that nobody holds yet, or that were escalated to it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel

from wangge.cases.api.access import Supervisor, Worker, may_reach_grid
from wangge.cases.api.care import plan_schedule
from wangge.cases.api.cases import CaseRead
from wangge.cases.domain import cases
from wangge.cases.projections.care import CarePlans
from wangge.cases.projections.cases import Cases
from wangge.events.projection import active_tables
from wangge.governance.times import stored
from wangge.service.deps import ReadConnection, State

router = APIRouter(tags=["inbox"])
OPEN = [s.value for s in cases.OPEN]


class VisitDue(BaseModel):
    plan_id: uuid.UUID
    resident_masked: str
    kind: str
    due_on: date | None
    missed: list[date]
    overdue: bool


class Inbox(BaseModel):
    """What the worker has to do, overdue first."""

    cases: list[CaseRead]
    visits: list[VisitDue]


class TriagePage(BaseModel):
    cases: list[CaseRead]


def _overdue_first(deadline: datetime | None, now: datetime) -> tuple[int, float]:
    if deadline is None:
        return (2, 0.0)
    moment = stored(deadline)
    return (0 if moment < now else 1, moment.timestamp())


@router.get("/inbox", response_model=Inbox)
async def inbox(principal: Worker, conn: ReadConnection, state: State) -> Inbox:
    """My open cases (overdue first, then by deadline) and my care visits due or missed."""
    now = datetime.now(UTC)
    c = (await active_tables(conn, state.service_projection(Cases.name)))["cases"]
    rows = (
        await conn.execute(
            sa.select(c).where(c.c.account == principal.subject, c.c.status.in_(OPEN))
        )
    ).all()
    rows = sorted(rows, key=lambda r: _overdue_first(r.deadline, now))
    care = await active_tables(conn, state.service_projection(CarePlans.name))
    p, v = care["plans"], care["visits"]
    plans = (
        await conn.execute(
            sa.select(p).where(p.c.worker_account == principal.subject, p.c.ended_on.is_(None))
        )
    ).all()
    visits: dict[uuid.UUID, set[date]] = {}
    if plans:
        for row in await conn.execute(
            sa.select(v.c.plan_id, v.c.visited_on).where(
                v.c.plan_id.in_([plan.plan_id for plan in plans])
            )
        ):
            visits.setdefault(row.plan_id, set()).add(row.visited_on)
    due = []
    for plan in plans:
        schedule = plan_schedule(plan, visits.get(plan.plan_id, set()), now.date())
        if schedule.due_on is None and not schedule.missed:
            continue
        due.append(
            VisitDue(
                plan_id=plan.plan_id, resident_masked=plan.resident_masked, kind=plan.kind,
                due_on=schedule.due_on, missed=list(schedule.missed),
                overdue=bool(schedule.missed),
            )
        )  # fmt: skip
    due.sort(key=lambda d: (not d.overdue, d.due_on or date.max))
    return Inbox(cases=[CaseRead.model_validate(r, from_attributes=True) for r in rows], visits=due)


@router.get("/triage", response_model=TriagePage)
async def triage(principal: Supervisor, conn: ReadConnection, state: State) -> TriagePage:
    """Open cases in the caller's places that nobody holds, or escalated to a community."""
    now = datetime.now(UTC)
    c = (await active_tables(conn, state.service_projection(Cases.name)))["cases"]
    rows = (
        await conn.execute(
            sa.select(c).where(
                c.c.status.in_(OPEN),
                sa.or_(c.c.account.is_(None), c.c.escalated_level == cases.Level.COMMUNITY),
            )
        )
    ).all()
    mine = [r for r in rows if await may_reach_grid(conn, state, principal, r.grid_id)]
    mine.sort(key=lambda r: _overdue_first(r.deadline, now))
    return TriagePage(cases=[CaseRead.model_validate(r, from_attributes=True) for r in mine])
