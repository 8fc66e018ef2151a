"""``/queues``: where an escalation (上报) or a referral (转办) puts a case, so that someone there
sees it and signs for it (签收).

Each queue is read by its own role only: the community's by community staff (the cases of the
grids in their places), the subdistrict's by its admins (likewise), a department's by that
department (``department:<name>``; a department reads no more than the queue's minimised rows:
no residents, no accounts). Signing for a case is a step with its own event
(``HandoverAccepted``); the department's one write here, since what was handed to it is
otherwise lost between two offices.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel

from wangge.cases.api.access import Core, may_reach_grid
from wangge.cases.bootstrap import CasesCore
from wangge.cases.domain.cases import DEPARTMENT_NAME, OPEN, Level
from wangge.cases.handlers import cases as handle
from wangge.cases.projections import cases as model
from wangge.cases.projections.cases import Cases
from wangge.events.db import read_only
from wangge.governance.errors import NotFound
from wangge.governance.times import StoredTime
from wangge.service.auth import ANY_DEPARTMENT, Principal, require
from wangge.service.commands import Command

router = APIRouter(prefix="/queues", tags=["queues"])
Community = Annotated[Principal, Depends(require("community_staff"))]
Subdistrict = Annotated[Principal, Depends(require("subdistrict_admin"))]
Department = Annotated[Principal, Depends(require(ANY_DEPARTMENT))]
DepartmentName = Annotated[
    str, Path(pattern=DEPARTMENT_NAME, description="as its department:<name> role spells it")
]


class QueueItem(BaseModel):
    """A case in a queue, minimised: what the case is, where, by when, why it came, and who
    signed for it (texts are their redacted copies)."""

    case_id: uuid.UUID
    kind: str
    title: str
    grid_id: uuid.UUID | None
    status: str
    deadline: StoredTime | None
    queue: str
    queued_at: StoredTime
    queue_reason: str
    handover: str
    """``escalation`` or ``referral``."""
    queue_accepted_at: StoredTime | None
    queue_accepted_by: str | None


class QueuePage(BaseModel):
    """A queue's open cases: those nobody signed for first, then overdue first."""

    queue: str
    items: list[QueueItem]


def _item(row: Any) -> QueueItem:
    return QueueItem.model_validate(row, from_attributes=True)


async def _page(core: CasesCore, principal: Principal, queue: str, scoped: bool) -> QueuePage:
    async with read_only(core.store.engine) as conn:
        rows = await model.queue(
            conn, await core.tables(conn, Cases.name), queue, now=datetime.now(UTC)
        )
        if scoped:
            rows = [r for r in rows if await may_reach_grid(conn, core, principal, r.grid_id)]
    return QueuePage(queue=queue, items=[_item(r) for r in rows])


async def _sign_for(
    command: Command, core: CasesCore, queue: str, case_id: uuid.UUID, scoped: bool
) -> QueueItem:
    """404 unless the case is in the queue and the caller's to see, then sign for it."""
    principal = command.principal
    async with read_only(core.store.engine) as conn:
        tables = await core.tables(conn, Cases.name)
        row = await model.case(conn, tables, case_id)
        if row is None or row.queue != queue or row.status not in OPEN:
            raise NotFound(f"no case {case_id} in the {queue} queue", field="case_id")
        if scoped and not await may_reach_grid(conn, core, principal, row.grid_id):
            raise NotFound(f"no case {case_id} in the {queue} queue", field="case_id")
    await handle.sign_for(command.commands, core, case_id, queue)
    async with read_only(core.store.engine) as conn:
        row = await model.case(conn, await core.tables(conn, Cases.name), case_id)
    return _item(row)


def _own_department(principal: Principal, department: str) -> None:
    if f"department:{department}" not in principal.roles:
        raise HTTPException(
            403, detail=f"the {department} queue is read by department:{department}"
        )


@router.get("/community", response_model=QueuePage)
async def community(principal: Community, core: Core) -> QueuePage:
    """Cases of the grids in my places escalated to the community."""
    return await _page(core, principal, Level.COMMUNITY, scoped=True)


@router.post("/community/{case_id}/accept", response_model=QueueItem)
async def sign_for_community(
    case_id: uuid.UUID, principal: Community, core: Core, command: Command
) -> QueueItem:
    """The community signs for (签收) a case escalated to it; signed for already, the same."""
    return await _sign_for(command, core, Level.COMMUNITY, case_id, scoped=True)


@router.get("/subdistrict", response_model=QueuePage)
async def subdistrict(principal: Subdistrict, core: Core) -> QueuePage:
    """Cases of the grids in my places escalated to the subdistrict."""
    return await _page(core, principal, Level.SUBDISTRICT, scoped=True)


@router.post("/subdistrict/{case_id}/accept", response_model=QueueItem)
async def sign_for_subdistrict(
    case_id: uuid.UUID, principal: Subdistrict, core: Core, command: Command
) -> QueueItem:
    """The subdistrict signs for (签收) a case escalated to it; signed for already, the same."""
    return await _sign_for(command, core, Level.SUBDISTRICT, case_id, scoped=True)


@router.get("/{department}", response_model=QueuePage)
async def department(department: DepartmentName, principal: Department, core: Core) -> QueuePage:
    """Cases escalated or referred to my department (403 for another department's)."""
    _own_department(principal, department)
    return await _page(core, principal, department, scoped=False)


@router.post("/{department}/{case_id}/accept", response_model=QueueItem)
async def sign_for_department(
    department: DepartmentName,
    case_id: uuid.UUID,
    principal: Department,
    core: Core,
    command: Command,
) -> QueueItem:
    """My department signs for (签收) a case escalated or referred to it; signed for already,
    the same."""
    _own_department(principal, department)
    return await _sign_for(command, core, department, case_id, scoped=False)
