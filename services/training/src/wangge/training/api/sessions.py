"""``/sessions``: topic sessions scheduled, moved and cancelled; enrolment with a waiting list;
attendance and scores per worker; materials by reference."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from wangge.events.db import read_only
from wangge.service.auth import Principal
from wangge.service.commands import Command
from wangge.training.api.access import (
    MANAGERS,
    Core,
    Enroller,
    Manager,
    Reader,
    acting_worker,
    readable_ids,
)
from wangge.training.bounds import Moment
from wangge.training.domain import sessions as s
from wangge.training.handlers import sessions as handlers
from wangge.training.handlers.sessions import (
    AssessmentSet,
    AttendanceSet,
    EnrolmentCreate,
    Reason,
    Reschedule,
    SessionCreate,
)
from wangge.training.projections.roster_queries import roster_tables
from wangge.training.projections.sessions import (
    SessionDetail,
    SessionRead,
    session_detail,
    sessions_in_order,
    sessions_tables,
)

router = APIRouter(prefix="/sessions", tags=["sessions"])


class SessionList(BaseModel):
    sessions: list[SessionRead]


async def _detail(
    core: Core, session_id: uuid.UUID, principal: Principal | None = None
) -> SessionDetail:
    """The session; its roll only of the workers whose records ``principal`` reads (None: a
    manager's command, every worker)."""
    async with read_only(core.store.engine) as conn:
        detail = await session_detail(conn, await sessions_tables(conn, core), session_id)
        if principal is not None and not principal.has_any(MANAGERS):
            roster = await roster_tables(conn, core)
            ids = {r.worker_id for r in detail.roll}
            visible = await readable_ids(conn, roster, principal, ids)
            detail.roll = [r for r in detail.roll if r.worker_id in visible]
    return detail


async def _acting(core: Core, principal: Principal, worker_id: uuid.UUID, refusal: str) -> None:
    async with read_only(core.store.engine) as conn:
        roster = await roster_tables(conn, core)
        await acting_worker(conn, roster, principal, worker_id, refusal=refusal)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionDetail)
async def schedule_session(
    body: SessionCreate, principal: Manager, core: Core, command: Command
) -> SessionDetail:
    """Schedule a session (a programme's module names the programme and the module's code).
    The instructors' names are sealed with the session's key and shown masked."""
    return await _detail(core, await handlers.schedule(command.commands, core.keyring, body))


@router.get("", response_model=SessionList)
async def list_sessions(
    principal: Reader,
    core: Core,
    since: Annotated[Moment | None, Query(description="starting at or after")] = None,
    until: Annotated[Moment | None, Query(description="starting before")] = None,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    programme_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SessionList:
    """Sessions in time order."""
    async with read_only(core.store.engine) as conn:
        sessions = await sessions_in_order(
            conn, await sessions_tables(conn, core), since=since, until=until, topic=topic,
            programme_id=programme_id, limit=limit,
        )  # fmt: skip
    return SessionList(sessions=sessions)


@router.get("/{session_id}", response_model=SessionDetail)
async def read_session(session_id: uuid.UUID, principal: Reader, core: Core) -> SessionDetail:
    """A session, its seats (enrolled, then waiting in line) and its roll (of the workers
    whose records the caller reads)."""
    return await _detail(core, session_id, principal)


@router.post("/{session_id}/reschedule", response_model=SessionDetail)
async def reschedule_session(
    session_id: uuid.UUID, body: Reschedule, principal: Manager, core: Core, command: Command
) -> SessionDetail:
    """Move a session (before it is held); the reason is sealed with the session's key."""
    await handlers.reschedule(command.commands, core.keyring, body, session_id=session_id)
    return await _detail(core, session_id)


@router.post("/{session_id}/cancel", response_model=SessionDetail)
async def cancel_session(
    session_id: uuid.UUID, body: Reason, principal: Manager, core: Core, command: Command
) -> SessionDetail:
    """Cancel a session (before it is held); the reason is sealed with the session's key."""
    await handlers.cancel(command.commands, core.keyring, body, session_id=session_id)
    return await _detail(core, session_id)


@router.post("/{session_id}/materials", response_model=SessionDetail)
async def attach_material(
    session_id: uuid.UUID, body: s.Material, principal: Manager, core: Core, command: Command
) -> SessionDetail:
    """Attach a material by reference."""
    await handlers.attach(command.commands, body, session_id=session_id)
    return await _detail(core, session_id)


@router.post("/{session_id}/enrolments", response_model=SessionDetail)
async def enrol(
    session_id: uuid.UUID, body: EnrolmentCreate, principal: Enroller, core: Core,
    command: Command,
) -> SessionDetail:  # fmt: skip
    """Enrol a worker (a worker may enrol themselves): a place, or a place in line when full."""
    await _acting(core, principal, body.worker_id, "a grid worker enrols only themselves")
    await handlers.enrol(command.commands, core, body, session_id=session_id)
    return await _detail(core, session_id, principal)


@router.delete("/{session_id}/enrolments/{worker_id}", response_model=SessionDetail)
async def withdraw(
    session_id: uuid.UUID, worker_id: uuid.UUID, principal: Enroller, core: Core,
    command: Command,
) -> SessionDetail:  # fmt: skip
    """Withdraw a worker; the place goes to the first worker waiting."""
    await _acting(core, principal, worker_id, "a grid worker withdraws only themselves")
    await handlers.withdraw(command.commands, core, session_id=session_id, worker_id=worker_id)
    return await _detail(core, session_id, principal)


@router.put("/{session_id}/attendance/{worker_id}", response_model=SessionDetail)
async def record_attendance(
    session_id: uuid.UUID, worker_id: uuid.UUID, body: AttendanceSet, principal: Manager,
    core: Core, command: Command,
) -> SessionDetail:  # fmt: skip
    """Record (or correct) how a worker attended, once the session has started; a note is
    sealed with the worker's key and shown redacted."""
    await handlers.record_attendance(
        command.commands, core, body, session_id=session_id, worker_id=worker_id
    )
    return await _detail(core, session_id)


@router.put("/{session_id}/assessments/{worker_id}", response_model=SessionDetail)
async def record_assessment(
    session_id: uuid.UUID, worker_id: uuid.UUID, body: AssessmentSet, principal: Manager,
    core: Core, command: Command,
) -> SessionDetail:  # fmt: skip
    """Record (or correct) a worker's score in the session's assessment."""
    await handlers.record_assessment(
        command.commands, body, session_id=session_id, worker_id=worker_id
    )
    return await _detail(core, session_id)
