"""``/care-plans``: recurring visits to residents who need them; visits recorded with sealed
measurements; what is due and missed, derived."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from wangge.cases.api.access import (
    Core,
    Staff,
    Supervisor,
    grid_in_scope,
    grid_worker,
    plan_row,
    visible_plan,
)
from wangge.cases.api.cases import shown
from wangge.cases.bootstrap import CasesCore
from wangge.cases.handlers import care as handle
from wangge.cases.handlers.care import Ending, PlanCreate, VisitCreate
from wangge.cases.projections import care as model
from wangge.cases.projections.care import CarePlans
from wangge.events.db import read_only
from wangge.governance.erasure import Erasure
from wangge.governance.times import today
from wangge.service.auth import Principal
from wangge.service.commands import Command

router = APIRouter(prefix="/care-plans", tags=["care"])


class VisitRead(BaseModel):
    visit_id: uuid.UUID
    visited_on: date
    by: str
    note: str
    measured: bool


class PlanRead(BaseModel):
    """A plan with what is due now and what was missed."""

    plan_id: uuid.UUID
    resident: str
    resident_masked: str
    grid_id: uuid.UUID
    kind: str
    every_days: int
    worker_account: str
    starts_on: date
    ended_on: date | None
    ended_reason: str | None
    last_visit_on: date | None
    due_on: date | None = Field(description="the current period's visit is due by this day")
    missed: list[date] = Field(description="starts of past periods without a visit")
    visits: list[VisitRead]


class Measurements(BaseModel):
    visit_id: uuid.UUID
    visited_on: date
    measurements: dict[str, Any] | None


_PLAN_COLUMNS = frozenset(
    {"plan_id", "resident", "resident_masked", "grid_id", "kind", "every_days", "worker_account",
     "starts_on", "ended_on", "ended_reason", "last_visit_on"}
)  # fmt: skip


async def _plan(core: CasesCore, principal: Principal, plan_id: uuid.UUID) -> PlanRead:
    """The plan, if the caller may see it (else 404), its texts in full while the plan's key
    lives (else their redacted copies)."""
    async with read_only(core.store.engine) as conn:
        row = await plan_row(conn, core, principal, plan_id)
        visits = await model.visits(conn, await core.tables(conn, CarePlans.name), plan_id)
        full = await model.texts_in_full(conn, core.store, core.keyrings.plans, plan_id)
        names = await shown(conn, core, [row.resident])
    plan = model.schedule_of(row, {r.visited_on for r in visits}, today())
    read = PlanRead(
        **{k: getattr(row, k) for k in PlanRead.model_fields if k in _PLAN_COLUMNS}
        | {
            "resident": names.resident(row.resident),
            "resident_masked": names.mask(row.resident, row.resident_masked),
        },
        due_on=plan.due_on,
        missed=list(plan.missed),
        visits=[VisitRead.model_validate(r, from_attributes=True) for r in visits],
    )
    if full is None:
        return read
    notes, ended_reason = full
    return read.model_copy(
        update={
            "ended_reason": ended_reason if ended_reason is not None else read.ended_reason,
            "visits": [
                v.model_copy(update={"note": notes.get(v.visit_id, v.note)}) for v in read.visits
            ],
        }
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PlanRead)
async def start_plan(body: PlanCreate, principal: Staff, core: Core, command: Command) -> PlanRead:
    """Start recurring visits; the grid's worker is responsible unless another is named."""
    await grid_in_scope(core, principal, body.grid_id)
    worker = await grid_worker(core, body.grid_id)
    plan_id = await handle.start_plan(command.commands, core, body, worker=worker)
    return await _plan(core, principal, plan_id)


@router.get("/{plan_id}", response_model=PlanRead)
async def read_plan(plan_id: uuid.UUID, principal: Staff, core: Core) -> PlanRead:
    """A plan, its visits, what is due and what was missed."""
    return await _plan(core, principal, plan_id)


@router.post("/{plan_id}/visits", status_code=status.HTTP_201_CREATED, response_model=PlanRead)
async def record_visit(
    plan_id: uuid.UUID, body: VisitCreate, principal: Staff, core: Core, command: Command
) -> PlanRead:
    """A visit made; its measurements and note are sealed with the plan's key (once it was
    erased, measurements are refused: 409)."""
    await visible_plan(core, principal, plan_id)
    await handle.record_visit(command.commands, core, plan_id, body)
    return await _plan(core, principal, plan_id)


@router.get("/{plan_id}/measurements", response_model=list[Measurements])
async def measurements(plan_id: uuid.UUID, principal: Staff, core: Core) -> list[Measurements]:
    """The visits' health measurements, unsealed, for those who may see the plan (none once
    the plan's data was erased)."""
    async with read_only(core.store.engine) as conn:
        await plan_row(conn, core, principal, plan_id)
        found = await model.measurements(conn, core.store, core.keyrings.plans, plan_id)
    return [
        Measurements(visit_id=visit.visit_id, visited_on=visit.visited_on, measurements=values)
        for visit, values in found
    ]


@router.post("/{plan_id}/end", response_model=PlanRead)
async def end_plan(
    plan_id: uuid.UUID, body: Ending, principal: Staff, core: Core, command: Command
) -> PlanRead:
    """No more visits, with the reason (sealed with the plan's key)."""
    await visible_plan(core, principal, plan_id)
    await handle.end_plan(command.commands, core, plan_id, body)
    return await _plan(core, principal, plan_id)


@router.delete("/{plan_id}/personal-data", response_model=PlanRead)
async def erase_plan_data(
    plan_id: uuid.UUID, body: Erasure, principal: Supervisor, core: Core, command: Command
) -> PlanRead:
    """Erase the plan's personal data (crypto-shredding): its key, which sealed the
    measurements and the free text, is destroyed for good; visits, dates and the redacted
    copies stay, and no measurement is recorded on it again. Erased again, it answers the
    same."""
    await visible_plan(core, principal, plan_id)
    await handle.erase_plan_data(command.commands, core, plan_id, body)
    return await _plan(core, principal, plan_id)
