"""``/inbox``: a grid worker's open cases and care visits due, overdue first; ``/triage``: the
community's cases that nobody holds yet, or that were escalated to it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from fastapi import APIRouter
from pydantic import BaseModel

from wangge.cases.api.access import Core, Supervisor, Worker, may_reach_grid
from wangge.cases.api.cases import CaseRead
from wangge.cases.projections import care, cases
from wangge.cases.projections.care import CarePlans
from wangge.cases.projections.cases import Cases
from wangge.events.db import read_only
from wangge.governance.times import local_day

router = APIRouter(tags=["inbox"])


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


@router.get("/inbox", response_model=Inbox)
async def inbox(principal: Worker, core: Core) -> Inbox:
    """My open cases (overdue first, then by deadline) and my care visits due or missed."""
    now = datetime.now(UTC)
    async with read_only(core.store.engine) as conn:
        mine = await cases.inbox(
            conn, await core.tables(conn, Cases.name), principal.subject, now=now
        )
        plans = await care.visits_due(
            conn, await core.tables(conn, CarePlans.name), principal.subject, today=local_day(now)
        )
    due = [
        VisitDue(
            plan_id=plan.plan_id, resident_masked=plan.resident_masked, kind=plan.kind,
            due_on=schedule.due_on, missed=list(schedule.missed), overdue=bool(schedule.missed),
        )
        for plan, schedule in plans
    ]  # fmt: skip
    due.sort(key=lambda d: (not d.overdue, d.due_on or date.max))
    return Inbox(cases=[CaseRead.model_validate(r, from_attributes=True) for r in mine], visits=due)


@router.get("/triage", response_model=TriagePage)
async def triage(principal: Supervisor, core: Core) -> TriagePage:
    """Open cases in the caller's places that nobody holds, or escalated to a community."""
    async with read_only(core.store.engine) as conn:
        rows = await cases.triage(conn, await core.tables(conn, Cases.name), now=datetime.now(UTC))
        mine = [r for r in rows if await may_reach_grid(conn, core, principal, r.grid_id)]
    return TriagePage(cases=[CaseRead.model_validate(r, from_attributes=True) for r in mine])
