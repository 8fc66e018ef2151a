"""``/programmes``: rotation programmes (轮训) of required modules; workers enrolled in them;
each enrolled worker's progress, derived from the sessions they attended and their scores."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from wangge.events.db import read_only
from wangge.governance.errors import NotFound
from wangge.service.commands import Command
from wangge.service.deps import State
from wangge.training.api.access import Manager, Reader, known_worker, may_read
from wangge.training.api.bounds import Day
from wangge.training.api.personal import Keys, seal_for
from wangge.training.domain import programmes as p
from wangge.training.records import ProgrammeProgress, progress_of
from wangge.training.tables import sessions_tables

router = APIRouter(prefix="/programmes", tags=["programmes"])


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


class ProgrammeRead(BaseModel):
    programme_id: uuid.UUID
    name: str
    description: str
    modules: list[p.Module]
    ordered: bool
    period_days: int | None
    workers: int = Field(description="workers enrolled and not withdrawn")


class ProgrammeList(BaseModel):
    programmes: list[ProgrammeRead]


class Standing(BaseModel):
    """Where the programme's workers stand (those the caller may see)."""

    programme_id: uuid.UUID
    completed: int
    workers: list[ProgrammeProgress]


async def _programme(state: object, programme_id: uuid.UUID) -> ProgrammeRead:
    async with read_only(state.engine) as conn:  # type: ignore[attr-defined]
        tables = await sessions_tables(conn, state)  # type: ignore[arg-type]
        t, m = tables["programmes"], tables["members"]
        row = (await conn.execute(sa.select(t).where(t.c.programme_id == programme_id))).first()
        if row is None:
            raise NotFound(f"no programme {programme_id}", field="programme_id")
        workers = await conn.scalar(
            sa.select(sa.func.count()).where(
                m.c.programme_id == programme_id, m.c.left_on.is_(None)
            )
        )
    return ProgrammeRead(
        **{k: getattr(row, k) for k in ProgrammeRead.model_fields if k != "workers"},
        workers=workers or 0,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProgrammeRead)
async def define_programme(
    body: ProgrammeCreate, principal: Manager, state: State, command: Command
) -> ProgrammeRead:
    """Define a programme: its modules (hours, pass mark if examined), order and period."""
    programme_id = uuid.uuid4()
    events = p.define(programme_id=programme_id, **body.model_dump(exclude={"modules"}),
                      modules=body.modules)  # fmt: skip
    result = await command.create(body, p.stream_id(programme_id), lambda: events)
    return await _programme(state, uuid.UUID(result.stream_id.removeprefix("programme-")))


@router.get("", response_model=ProgrammeList)
async def list_programmes(principal: Reader, state: State) -> ProgrammeList:
    """Every programme."""
    async with read_only(state.engine) as conn:
        t = (await sessions_tables(conn, state))["programmes"]
        ids = (await conn.scalars(sa.select(t.c.programme_id).order_by(t.c.name))).all()
    return ProgrammeList(programmes=[await _programme(state, i) for i in ids])


@router.get("/{programme_id}", response_model=ProgrammeRead)
async def read_programme(programme_id: uuid.UUID, principal: Reader, state: State) -> ProgrammeRead:
    """A programme."""
    return await _programme(state, programme_id)


@router.post("/{programme_id}/workers", response_model=ProgrammeRead)
async def enrol_worker(
    programme_id: uuid.UUID, body: MemberCreate, principal: Manager, state: State,
    command: Command,
) -> ProgrammeRead:  # fmt: skip
    """Enrol a worker in the programme from a day on."""
    async with read_only(state.engine) as conn:
        await known_worker(conn, state, body.worker_id)
    loaded = await command.load(p.stream_id(programme_id), p.evolve, field="programme_id")
    await command.change(body, loaded, lambda x: p.enrol(x, worker_id=body.worker_id, on=body.on))
    return await _programme(state, programme_id)


@router.post("/{programme_id}/workers/{worker_id}/leave", response_model=ProgrammeRead)
async def withdraw_worker(
    programme_id: uuid.UUID, worker_id: uuid.UUID, body: Leaving, principal: Manager,
    state: State, command: Command, keys: Keys,
) -> ProgrammeRead:  # fmt: skip
    """A worker stops following the programme; what they did stays on their record. The
    reason is sealed with the worker's key and shown redacted."""
    loaded = await command.load(p.stream_id(programme_id), p.evolve, field="programme_id")
    assert loaded.state is not None
    enrolled = worker_id in loaded.state.enrolled  # else the domain refuses: no key made
    seal = await seal_for(state, keys, worker_id, enrolled and body.reason, field="reason")
    await command.change(
        body, loaded,
        lambda x: p.leave(x, worker_id=worker_id, on=body.on, reason=body.reason, seal=seal),
    )  # fmt: skip
    return await _programme(state, programme_id)


@router.get("/{programme_id}/progress", response_model=Standing)
async def standing(programme_id: uuid.UUID, principal: Reader, state: State) -> Standing:
    """Each enrolled worker's progress: modules done and still missing (derived)."""
    await _programme(state, programme_id)
    async with read_only(state.engine) as conn:
        rows = await progress_of(conn, state, programme_id=programme_id)
        visible = [r for r in rows if await may_read(conn, state, principal, r.worker)]
    workers = [r.progress for r in visible]
    return Standing(
        programme_id=programme_id,
        completed=sum(1 for w in workers if w.completed_on is not None),
        workers=workers,
    )
