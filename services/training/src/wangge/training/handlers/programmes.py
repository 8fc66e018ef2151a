"""Commands on rotation programmes (轮训): define one, enrol a worker, a worker leaves it."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from wangge.events.command import CommandRunner
from wangge.events.sealing import KeyRing
from wangge.governance.times import today
from wangge.training.bootstrap import TrainingCore
from wangge.training.bounds import Day
from wangge.training.domain import programmes as p
from wangge.training.handlers import reading, start
from wangge.training.personal_data import seal_for
from wangge.training.projections.roster_queries import roster_tables, serving_worker


class ProgrammeCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description='e.g. "6+1+3" 轮训')
    description: str = Field(default="", max_length=2000)
    modules: list[p.Module] = Field(min_length=1, max_length=100)
    ordered: bool = Field(default=False, description="modules count only in their order")
    period_days: int | None = Field(default=None, ge=1, le=3660)


class MemberCreate(BaseModel):
    worker_id: uuid.UUID
    on: Day


class Leaving(BaseModel):
    on: Day
    reason: str = Field(min_length=1, max_length=500)


async def define(commands: CommandRunner, cmd: ProgrammeCreate) -> uuid.UUID:
    """Define a programme: its modules (hours, pass mark if examined), order and period.
    Returns the programme's id."""
    programme_id = uuid.uuid4()
    events = p.define(programme_id=programme_id, **cmd.model_dump(exclude={"modules"}),
                      modules=cmd.modules)  # fmt: skip
    return await start(commands, cmd, p.stream_id(programme_id), events)


async def enrol(
    commands: CommandRunner, core: TrainingCore, cmd: MemberCreate, *, programme_id: uuid.UUID
) -> None:
    """Enrol a worker who serves (409 for one who left) in the programme from a day on."""
    async with reading(commands) as conn:
        await serving_worker(conn, await roster_tables(conn, core), cmd.worker_id, today=today())
    loaded = await commands.load(p.stream_id(programme_id), p.evolve, field="programme_id")
    await commands.change(cmd, loaded, lambda x: p.enrol(x, worker_id=cmd.worker_id, on=cmd.on))


async def leave(
    commands: CommandRunner, keys: KeyRing, cmd: Leaving, *,
    programme_id: uuid.UUID, worker_id: uuid.UUID,
) -> None:  # fmt: skip
    """A worker stops following the programme; what they did stays on their record. The
    reason is sealed with the worker's key."""
    loaded = await commands.load(p.stream_id(programme_id), p.evolve, field="programme_id")
    assert loaded.state is not None
    enrolled = worker_id in loaded.state.enrolled  # else the domain refuses: no key made
    seal = await seal_for(
        commands.store.engine, keys, worker_id, enrolled and cmd.reason, field="reason"
    )
    await commands.change(
        cmd, loaded,
        lambda x: p.leave(x, worker_id=worker_id, on=cmd.on, reason=cmd.reason, seal=seal),
    )  # fmt: skip
