"""``/programmes``: rotation programmes (轮训) of required modules; workers enrolled in them;
each enrolled worker's progress, derived from the sessions they attended and their scores."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from pydantic import BaseModel

from wangge.events.db import read_only
from wangge.service.commands import Command
from wangge.training.api.access import Core, Manager, Reader, readable_ids
from wangge.training.handlers import programmes as handlers
from wangge.training.handlers.programmes import Leaving, MemberCreate, ProgrammeCreate
from wangge.training.projections.roster_queries import roster_tables
from wangge.training.projections.sessions import (
    ProgrammeProgress,
    ProgrammeRead,
    programme,
    programmes_by_name,
    progress_of,
    sessions_tables,
)

router = APIRouter(prefix="/programmes", tags=["programmes"])


class ProgrammeList(BaseModel):
    programmes: list[ProgrammeRead]


class Standing(BaseModel):
    """Where the programme's workers stand (those the caller may see)."""

    programme_id: uuid.UUID
    completed: int
    workers: list[ProgrammeProgress]


async def _programme(core: Core, programme_id: uuid.UUID) -> ProgrammeRead:
    async with read_only(core.store.engine) as conn:
        return await programme(conn, await sessions_tables(conn, core), programme_id)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProgrammeRead)
async def define_programme(
    body: ProgrammeCreate, principal: Manager, core: Core, command: Command
) -> ProgrammeRead:
    """Define a programme: its modules (hours, pass mark if examined), order and period."""
    return await _programme(core, await handlers.define(command.commands, body))


@router.get("", response_model=ProgrammeList)
async def list_programmes(principal: Reader, core: Core) -> ProgrammeList:
    """Every programme."""
    async with read_only(core.store.engine) as conn:
        found = await programmes_by_name(conn, await sessions_tables(conn, core))
    return ProgrammeList(programmes=found)


@router.get("/{programme_id}", response_model=ProgrammeRead)
async def read_programme(programme_id: uuid.UUID, principal: Reader, core: Core) -> ProgrammeRead:
    """A programme."""
    return await _programme(core, programme_id)


@router.post("/{programme_id}/workers", response_model=ProgrammeRead)
async def enrol_worker(
    programme_id: uuid.UUID, body: MemberCreate, principal: Manager, core: Core,
    command: Command,
) -> ProgrammeRead:  # fmt: skip
    """Enrol a worker in the programme from a day on."""
    await handlers.enrol(command.commands, core, body, programme_id=programme_id)
    return await _programme(core, programme_id)


@router.post("/{programme_id}/workers/{worker_id}/leave", response_model=ProgrammeRead)
async def withdraw_worker(
    programme_id: uuid.UUID, worker_id: uuid.UUID, body: Leaving, principal: Manager,
    core: Core, command: Command,
) -> ProgrammeRead:  # fmt: skip
    """A worker stops following the programme; what they did stays on their record. The
    reason is sealed with the worker's key and shown redacted."""
    await handlers.leave(
        command.commands, core.keyring, body, programme_id=programme_id, worker_id=worker_id
    )
    return await _programme(core, programme_id)


@router.get("/{programme_id}/progress", response_model=Standing)
async def standing(programme_id: uuid.UUID, principal: Reader, core: Core) -> Standing:
    """Each enrolled worker's progress: modules done and still missing (derived)."""
    async with read_only(core.store.engine) as conn:
        tables = await sessions_tables(conn, core)
        await programme(conn, tables, programme_id)
        progress = await progress_of(conn, tables, programme_id=programme_id)
        roster = await roster_tables(conn, core)
        ids = {x.worker_id for x in progress}
        visible = await readable_ids(conn, roster, principal, ids)
    workers = [x for x in progress if x.worker_id in visible]
    return Standing(
        programme_id=programme_id,
        completed=sum(1 for w in workers if w.completed_on is not None),
        workers=workers,
    )
