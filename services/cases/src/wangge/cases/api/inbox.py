"""``/inbox``: a grid worker's open cases and care visits due, overdue first; ``/triage``: the
community's cases that nobody holds yet, or that were escalated to it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from fastapi import APIRouter
from pydantic import BaseModel

from wangge.cases.api.access import Core, Supervisor, Worker, may_reach_grid
from wangge.cases.api.cases import CaseRead, case_read, shown
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


class ConfirmationDue(BaseModel):
    """An agreement whose window for judicial confirmation (司法确认) closes soon, unasked: the
    parties may want to be told."""

    case_id: uuid.UUID
    title: str
    agreement_id: uuid.UUID
    confirmation_deadline: date
    days_left: int


class Inbox(BaseModel):
    """What the worker has to do, overdue first."""

    cases: list[CaseRead]
    visits: list[VisitDue]
    confirmations: list[ConfirmationDue]
    """Agreements of my cases, or that I mediated, whose confirmation window closes soon."""


class TriagePage(BaseModel):
    cases: list[CaseRead]


@router.get("/inbox", response_model=Inbox)
async def inbox(principal: Worker, core: Core) -> Inbox:
    """My open cases (overdue first, then by deadline), my care visits due or missed, and the
    agreements of my cases, or that I mediated, whose window for judicial confirmation closes
    soon (``WANGGE_CONFIRMATION_REMIND_DAYS`` before)."""
    now = datetime.now(UTC)
    async with read_only(core.store.engine) as conn:
        mine = await cases.inbox(
            conn, await core.tables(conn, Cases.name), principal.subject, now=now
        )
        today = local_day(now)
        plans = await care.visits_due(
            conn, await core.tables(conn, CarePlans.name), principal.subject, today=today
        )
        reminded = await cases.confirmations_reminded(
            conn, await core.tables(conn, Cases.name), principal.subject
        )
        # the residents of every row at once: one statement for the page, not one per row
        names = await shown(
            conn, core, [*(s for r in mine for s in r.subjects), *(p.resident for p, _ in plans)]
        )
    due = [
        VisitDue(
            plan_id=plan.plan_id, resident_masked=names.mask(plan.resident, plan.resident_masked),
            kind=plan.kind,
            due_on=schedule.due_on, missed=list(schedule.missed), overdue=bool(schedule.missed),
        )
        for plan, schedule in plans
    ]  # fmt: skip
    due.sort(key=lambda d: (not d.overdue, d.due_on or date.max))
    confirmations = [
        ConfirmationDue(
            case_id=r.case_id, title=r.title, agreement_id=r.agreement_id,
            confirmation_deadline=r.confirmation_deadline,
            days_left=(r.confirmation_deadline - today).days,
        )
        for r in reminded
        if r.confirmation_deadline >= today  # closed since: the next sweep records its lapse
    ]  # fmt: skip
    return Inbox(
        cases=[case_read(r, names) for r in mine],
        visits=due,
        confirmations=confirmations,
    )


@router.get("/triage", response_model=TriagePage)
async def triage(principal: Supervisor, core: Core) -> TriagePage:
    """Open cases in the caller's places that nobody holds, or escalated to a community."""
    async with read_only(core.store.engine) as conn:
        rows = await cases.triage(conn, await core.tables(conn, Cases.name), now=datetime.now(UTC))
        mine = [r for r in rows if await may_reach_grid(conn, core, principal, r.grid_id)]
        names = await shown(conn, core, [s for r in mine for s in r.subjects])
    return TriagePage(cases=[case_read(r, names) for r in mine])
