"""Commands on care plans: starting one, recording a visit (its measurements sealed with the
plan's key), ending it, and erasing its personal data. Who may act on which plan is the route's
to check before it calls a handler here."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from wangge.cases.bootstrap import CasesCore
from wangge.cases.domain import care
from wangge.cases.domain.upstream import Worker
from wangge.cases.handlers.cases import new_id, pseudonymous, resident_masked
from wangge.cases.personal_data import new_key, shred, text_key
from wangge.events import DomainEvent
from wangge.events.command import Also, CommandRunner, UnitOfWork
from wangge.events.db import read_only
from wangge.events.sealing import Seal
from wangge.governance.erasure import Erasure
from wangge.governance.times import today


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


async def start_plan(
    commands: CommandRunner, core: CasesCore, cmd: PlanCreate, *, worker: Worker | None
) -> uuid.UUID:
    """Start recurring visits: the named worker is responsible, else the grid's ``worker``, else
    whoever starts it; the note sealed with the plan's new key."""
    resident = pseudonymous(cmd.resident)
    masked = await resident_masked(core, resident)
    account = cmd.worker_account or (worker[1] if worker is not None else commands.actor)
    plan_id = new_id()
    key = new_key(core.keyrings.plans, plan_id)
    assert key.seal is not None
    started = care.start(
        plan_id=plan_id, resident=resident, resident_masked=masked,
        grid_id=cmd.grid_id, kind=cmd.kind, every_days=cmd.every_days,
        worker_account=account, starts_on=cmd.starts_on, note=cmd.note, seal=key.seal,
    )  # fmt: skip

    async def keep(unit: UnitOfWork) -> None:
        await key.keep(unit.conn)

    result = await commands.create(cmd, care.stream_id(plan_id), lambda: started, keep)
    return uuid.UUID(result.stream_id.split("-", 1)[1])


async def _change(
    commands: CommandRunner,
    plan_id: uuid.UUID,
    decide: Callable[[care.Plan], Sequence[DomainEvent]],
    body: BaseModel,
    also: Also,
) -> None:
    loaded = await commands.load(care.stream_id(plan_id), care.evolve, field="plan_id")
    await commands.change(body, loaded, decide, also)


async def _sealed_change(
    commands: CommandRunner,
    core: CasesCore,
    plan_id: uuid.UUID,
    decide: Callable[[care.Plan, Seal | None], Sequence[DomainEvent]],
    body: BaseModel,
) -> None:
    """Decide with the seal of the plan's key (None once it was erased), and append."""
    async with read_only(core.store.engine) as conn:
        key = await text_key(conn, core.keyrings.plans, plan_id)

    async def keep(unit: UnitOfWork) -> None:
        await key.keep(unit.conn)

    await _change(commands, plan_id, lambda p: decide(p, key.seal), body, keep)


async def record_visit(
    commands: CommandRunner, core: CasesCore, plan_id: uuid.UUID, cmd: VisitCreate
) -> None:
    """A visit made by the command's actor; its measurements and note sealed with the plan's
    key (once it was erased, measurements are refused)."""
    await _sealed_change(
        commands, core, plan_id,
        lambda p, seal: care.record_visit(
            p, visit_id=new_id(), visited_on=cmd.visited_on, today=today(),
            by=commands.actor, note=cmd.note, measurements=cmd.measurements, seal=seal,
        ),
        cmd,
    )  # fmt: skip


async def end_plan(
    commands: CommandRunner, core: CasesCore, plan_id: uuid.UUID, cmd: Ending
) -> None:
    """No more visits, with the reason (sealed with the plan's key)."""
    await _sealed_change(
        commands, core, plan_id,
        lambda p, seal: care.end(p, ended_on=cmd.ended_on, reason=cmd.reason, seal=seal),
        cmd,
    )  # fmt: skip


async def erase_plan_data(
    commands: CommandRunner, core: CasesCore, plan_id: uuid.UUID, cmd: Erasure
) -> None:
    """Erase the plan's personal data (crypto-shredding): its key, which sealed the
    measurements and the free text, is destroyed for good."""

    async def shred_key(unit: UnitOfWork) -> None:
        await shred(unit.conn, core.keyrings.plans, [plan_id])

    await _change(
        commands, plan_id, lambda p: care.erase(p, ground=cmd.legal_ground), cmd, shred_key
    )
