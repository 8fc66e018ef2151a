"""``/care-plans``: recurring visits to residents who need them; visits recorded with sealed
measurements; what is due and missed, derived."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from wangge.cases.api.access import (
    Keys,
    Staff,
    Supervisor,
    code_of_grid,
    grid_in_scope,
    pseudonymous,
    resident_masked,
    roster,
)
from wangge.cases.domain import care
from wangge.cases.handling import change, create, new_id
from wangge.cases.personal_data import KeyRings, new_key, opened, shred, text_key
from wangge.cases.projections.care import CarePlans
from wangge.cases.projections.roster import worker_of
from wangge.events.command import UnitOfWork
from wangge.events.db import read_only
from wangge.events.projection import active_tables
from wangge.governance.erasure import Erasure
from wangge.governance.errors import NotFound
from wangge.service.app import ServiceState
from wangge.service.commands import Command
from wangge.service.deps import ReadConnection, State

router = APIRouter(prefix="/care-plans", tags=["care"])


class PlanCreate(BaseModel):
    """A care plan for a resident (usually a tagged one: elderly living alone, disabled...)."""

    resident: str = Field(
        min_length=1, max_length=100, description="pseudonymous id; shown with the registry's mask"
    )
    grid_id: uuid.UUID
    kind: care.CareKind
    every_days: int = Field(ge=1, le=366, description="7: weekly")
    starts_on: date
    worker_account: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="the responsible worker's account; default: the grid's",
    )  # fmt: skip
    note: str = Field(default="", max_length=1000)


MeasurementName = Annotated[str, Field(min_length=1, max_length=50)]
MeasurementValue = float | Annotated[str, Field(max_length=200)]


class VisitCreate(BaseModel):
    visited_on: date
    note: str = Field(default="", max_length=2000)
    measurements: dict[MeasurementName, MeasurementValue] | None = Field(
        default=None, max_length=50,
        description='health data, sealed at rest: {"systolic": 135, ...}',
    )  # fmt: skip


class Ending(BaseModel):
    ended_on: date
    reason: str = Field(min_length=1, max_length=500)


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


async def _plan(
    state: ServiceState, principal: Any, plan_id: uuid.UUID, keys: KeyRings | None = None
) -> PlanRead:
    """The plan, if the caller may see it (else 404); with ``keys``, its texts in full while the
    plan's key lives (else their redacted copies)."""
    async with read_only(state.engine) as conn:
        tables = await active_tables(conn, state.service_projection(CarePlans.name))
        p, v = tables["plans"], tables["visits"]
        row = (await conn.execute(sa.select(p).where(p.c.plan_id == plan_id))).first()
        if row is None:
            raise NotFound(f"no care plan {plan_id}", field="plan_id")
        if row.worker_account != principal.subject and not principal.covers(
            await code_of_grid(conn, state, row.grid_id)
        ):
            raise NotFound(f"no care plan {plan_id}", field="plan_id")
        visits = (
            await conn.execute(sa.select(v).where(v.c.plan_id == plan_id).order_by(v.c.visited_on))
        ).all()
        key = await keys.plans.key(conn, plan_id) if keys is not None else None
    plan = plan_schedule(row, {r.visited_on for r in visits}, datetime.now(UTC).date())
    read = PlanRead(
        **{k: getattr(row, k) for k in PlanRead.model_fields if k in _PLAN_COLUMNS},
        due_on=plan.due_on,
        missed=list(plan.missed),
        visits=[VisitRead.model_validate(r, from_attributes=True) for r in visits],
    )
    if key is None:
        return read
    notes: dict[uuid.UUID, str] = {}
    ended_reason = read.ended_reason
    for event in await state.store.read_stream(care.stream_id(plan_id)):
        data = opened(key, event.data)
        if isinstance(data, care.CareVisitRecorded):
            notes[data.visit_id] = data.note
        elif isinstance(data, care.CarePlanEnded):
            ended_reason = data.reason
    return read.model_copy(
        update={
            "ended_reason": ended_reason,
            "visits": [
                v.model_copy(update={"note": notes.get(v.visit_id, v.note)}) for v in read.visits
            ],
        }
    )


_PLAN_COLUMNS = frozenset(
    {"plan_id", "resident", "resident_masked", "grid_id", "kind", "every_days", "worker_account",
     "starts_on", "ended_on", "ended_reason", "last_visit_on"}
)  # fmt: skip


def plan_schedule(row: Any, visits: set[date], today: date) -> care.Schedule:
    """Where a plan row stands today."""
    return care.schedule(row.starts_on, row.every_days, frozenset(visits), today, row.ended_on)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PlanRead)
async def start_plan(
    body: PlanCreate, principal: Staff, state: State, keys: Keys, command: Command
) -> PlanRead:
    """Start recurring visits; the grid's worker is responsible unless another is named."""
    async with read_only(state.engine) as conn:
        await grid_in_scope(conn, state, principal, body.grid_id)
        tables = await roster(conn, state)
        worker = await worker_of(conn, tables, body.grid_id) if tables is not None else None
        resident = pseudonymous(body.resident)
        masked = await resident_masked(conn, state, resident)
    account = body.worker_account or (worker[1] if worker is not None else principal.subject)
    plan_id = new_id()
    key = new_key(keys.plans, plan_id)
    assert key.seal is not None
    started = care.start(
        plan_id=plan_id, resident=resident, resident_masked=masked,
        grid_id=body.grid_id, kind=body.kind, every_days=body.every_days,
        worker_account=account, starts_on=body.starts_on, note=body.note, seal=key.seal,
    )  # fmt: skip

    async def keep(unit: UnitOfWork) -> None:
        await key.keep(unit.conn)

    created = await create(command, care.stream_id(plan_id), started, body=body, also=keep)
    return await _plan(state, principal, created, keys)


@router.get("/{plan_id}", response_model=PlanRead)
async def read_plan(plan_id: uuid.UUID, principal: Staff, state: State, keys: Keys) -> PlanRead:
    """A plan, its visits, what is due and what was missed."""
    return await _plan(state, principal, plan_id, keys)


@router.post("/{plan_id}/visits", status_code=status.HTTP_201_CREATED, response_model=PlanRead)
async def record_visit(
    plan_id: uuid.UUID,
    body: VisitCreate,
    principal: Staff,
    state: State,
    keys: Keys,
    command: Command,
) -> PlanRead:
    """A visit made; its measurements and note are sealed with the plan's key (once it was
    erased, measurements are refused: 409)."""
    await _plan(state, principal, plan_id)  # 404 unless theirs
    async with read_only(state.engine) as conn:
        key = await text_key(conn, keys.plans, plan_id)

    async def keep(unit: UnitOfWork) -> None:
        await key.keep(unit.conn)

    await change(
        command, care.stream_id(plan_id), care.evolve,
        lambda p: care.record_visit(
            p, visit_id=new_id(), visited_on=body.visited_on, today=datetime.now(UTC).date(),
            by=principal.subject, note=body.note, measurements=body.measurements, seal=key.seal,
        ),
        what="plan", body=body, also=keep,
    )  # fmt: skip
    return await _plan(state, principal, plan_id, keys)


@router.get("/{plan_id}/measurements", response_model=list[Measurements])
async def measurements(
    plan_id: uuid.UUID, principal: Staff, conn: ReadConnection, state: State, keys: Keys
) -> list[Measurements]:
    """The visits' health measurements, unsealed, for those who may see the plan (none once
    the plan's data was erased)."""
    await _plan(state, principal, plan_id)
    keyring = keys.plans
    key = await keyring.key(conn, plan_id)
    events = await state.store.read_stream(care.stream_id(plan_id))
    out = []
    for event in events:
        if isinstance(event.data, care.CareVisitRecorded):
            sealed = event.data.measurements
            values = keyring.unseal(key, sealed) if sealed is not None and key else None
            out.append(
                Measurements(
                    visit_id=event.data.visit_id, visited_on=event.data.visited_on,
                    measurements=values,
                )
            )  # fmt: skip
    return out


@router.post("/{plan_id}/end", response_model=PlanRead)
async def end_plan(
    plan_id: uuid.UUID, body: Ending, principal: Staff, state: State, keys: Keys, command: Command
) -> PlanRead:
    """No more visits, with the reason (sealed with the plan's key)."""
    await _plan(state, principal, plan_id)
    async with read_only(state.engine) as conn:
        key = await text_key(conn, keys.plans, plan_id)

    async def keep(unit: UnitOfWork) -> None:
        await key.keep(unit.conn)

    await change(
        command, care.stream_id(plan_id), care.evolve,
        lambda p: care.end(p, ended_on=body.ended_on, reason=body.reason, seal=key.seal),
        what="plan", body=body, also=keep,
    )  # fmt: skip
    return await _plan(state, principal, plan_id, keys)


@router.delete("/{plan_id}/personal-data", response_model=PlanRead)
async def erase_plan_data(
    plan_id: uuid.UUID,
    body: Erasure,
    principal: Supervisor,
    state: State,
    keys: Keys,
    command: Command,
) -> PlanRead:
    """Erase the plan's personal data (crypto-shredding): its key, which sealed the
    measurements and the free text, is destroyed for good; visits, dates and the redacted
    copies stay, and no measurement is recorded on it again. Erased again, it answers the
    same."""
    await _plan(state, principal, plan_id)  # 404 unless theirs

    async def shred_key(unit: UnitOfWork) -> None:
        await shred(unit.conn, keys.plans, [plan_id])

    await change(
        command, care.stream_id(plan_id), care.evolve,
        lambda p: care.erase(p, ground=body.legal_ground),
        what="plan", body=body, also=shred_key,
    )  # fmt: skip
    return await _plan(state, principal, plan_id, keys)
