"""``/sessions``: topic sessions scheduled, moved and cancelled; enrolment with a waiting list;
attendance and scores per worker; materials by reference; how many workers a session reached."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from wangge.events.db import read_only
from wangge.governance.errors import NotFound
from wangge.governance.times import StoredTime, utc
from wangge.service.auth import Principal
from wangge.service.commands import NO_BODY, Command
from wangge.service.deps import State
from wangge.training.api.access import (
    MANAGERS,
    Enroller,
    Manager,
    Reader,
    acting_worker,
    known_worker,
    may_read,
)
from wangge.training.api.bounds import MAX_SCORE, Moment
from wangge.training.api.personal import Keys, seal_for
from wangge.training.domain import programmes
from wangge.training.domain import sessions as s
from wangge.training.projections.roster import worker_row
from wangge.training.tables import roster, sessions_tables

router = APIRouter(prefix="/sessions", tags=["sessions"])


class SessionCreate(BaseModel):
    topic: str = Field(min_length=1, max_length=200, description="e.g. 防范非法集资")
    programme_id: uuid.UUID | None = Field(default=None, description="a module's session")
    module_code: str | None = Field(default=None, max_length=40)
    instructors: list[s.Instructor] = Field(min_length=1, max_length=20)
    starts_at: Moment
    ends_at: Moment
    place: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=s.MAX_CAPACITY)
    materials: list[s.Material] = Field(default_factory=list, max_length=50)


class Reschedule(BaseModel):
    starts_at: Moment
    ends_at: Moment
    place: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class EnrolmentCreate(BaseModel):
    worker_id: uuid.UUID


class AttendanceSet(BaseModel):
    attendance: s.Attendance
    note: str = Field(default="", max_length=500)


class AssessmentSet(BaseModel):
    score: float = Field(ge=0, le=MAX_SCORE, description="at most max_score")
    max_score: float = Field(gt=0, le=MAX_SCORE, default=100)


class Seat(BaseModel):
    worker_id: uuid.UUID
    status: str = Field(description="enrolled, or waiting (in line: the order of the list)")


class Roll(BaseModel):
    worker_id: uuid.UUID
    attendance: s.Attendance
    note: str
    score: float | None
    max_score: float | None


class SessionRead(BaseModel):
    session_id: uuid.UUID
    topic: str
    programme_id: uuid.UUID | None
    module_code: str | None
    instructors: list[s.Instructor]
    materials: list[s.Material]
    starts_at: StoredTime
    ends_at: StoredTime
    hours: float
    place: str
    capacity: int
    cancelled_reason: str | None
    enrolled: int
    waiting: int
    version: int


class SessionDetail(SessionRead):
    seats: list[Seat]
    roll: list[Roll]


class SessionList(BaseModel):
    sessions: list[SessionRead]


async def _counts(conn: Any, tables: Any, ids: list[uuid.UUID]) -> dict[Any, dict[str, int]]:
    e = tables["enrolments"]
    rows = await conn.execute(
        sa.select(e.c.session_id, e.c.status, sa.func.count())
        .where(e.c.session_id.in_(ids))
        .group_by(e.c.session_id, e.c.status)
    )
    counts: dict[Any, dict[str, int]] = {}
    for session_id, state, n in rows:
        counts.setdefault(session_id, {})[state] = n
    return counts


def _read(row: Any, counts: dict[str, int]) -> SessionRead:
    return SessionRead(
        **{
            k: getattr(row, k) for k in SessionRead.model_fields if k not in ("enrolled", "waiting")
        },
        enrolled=counts.get("enrolled", 0),
        waiting=counts.get("waiting", 0),
    )


async def session_detail(
    state: Any, session_id: uuid.UUID, principal: Principal | None = None
) -> SessionDetail:
    """A session with its seats and roll; the roll (attendance, notes, scores) only of the
    workers whose records ``principal`` reads (None: a manager's command, every worker)."""
    async with read_only(state.engine) as conn:
        tables = await sessions_tables(conn, state)
        t, e, a, sc = (tables[k] for k in ("sessions", "enrolments", "attendance", "scores"))
        row = (await conn.execute(sa.select(t).where(t.c.session_id == session_id))).first()
        if row is None:
            raise NotFound(f"no session {session_id}", field="session_id")
        seats = (
            await conn.execute(
                sa.select(e.c.worker_id, e.c.status)
                .where(e.c.session_id == session_id)
                .order_by(e.c.status, e.c.since)
            )
        ).all()
        roll = (
            await conn.execute(
                sa.select(a.c.worker_id, a.c.attendance, a.c.note, sc.c.score, sc.c.max_score)
                .outerjoin(
                    sc, (sc.c.session_id == a.c.session_id) & (sc.c.worker_id == a.c.worker_id)
                )
                .where(a.c.session_id == session_id)
                .order_by(a.c.worker_id)
            )
        ).all()
        counts = (await _counts(conn, tables, [session_id])).get(session_id, {})
        if principal is not None and not principal.has_any(MANAGERS):
            roll = [r for r in roll if await _reads(conn, state, principal, r.worker_id)]
    return SessionDetail(
        **_read(row, counts).model_dump(),
        seats=[Seat(worker_id=r.worker_id, status=r.status) for r in seats],
        roll=[Roll.model_validate(r, from_attributes=True) for r in roll],
    )


async def _reads(conn: Any, state: Any, principal: Principal, worker_id: uuid.UUID) -> bool:
    tables = await roster(conn, state)
    row = await worker_row(conn, tables, worker_id) if tables is not None else None
    return row is not None and await may_read(conn, state, principal, row)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionDetail)
async def schedule_session(
    body: SessionCreate, principal: Manager, state: State, command: Command, keys: Keys
) -> SessionDetail:
    """Schedule a session (a programme's module names the programme and the module's code).
    The instructors' names are sealed with the session's key and shown masked."""
    if body.programme_id is not None:
        loaded = await command.load(
            programmes.stream_id(body.programme_id), programmes.evolve, field="programme_id"
        )
        assert loaded.state is not None
        if body.module_code not in loaded.state.modules:
            raise s.InvalidTraining(
                f"the programme has no module {body.module_code!r}", field="module_code"
            )
    session_id = uuid.uuid4()
    seal = await seal_for(state, keys, session_id, "instructors", field="instructors")
    events = s.schedule(
        session_id=session_id, topic=body.topic, programme_id=body.programme_id,
        module_code=body.module_code, instructors=body.instructors, starts_at=body.starts_at,
        ends_at=body.ends_at, place=body.place, capacity=body.capacity, materials=body.materials,
        seal=seal,
    )  # fmt: skip
    result = await command.create(body, s.stream_id(session_id), lambda: events)
    return await session_detail(state, uuid.UUID(result.stream_id.removeprefix("session-")))


@router.get("", response_model=SessionList)
async def list_sessions(
    principal: Reader,
    state: State,
    since: Annotated[Moment | None, Query(description="starting at or after")] = None,
    until: Annotated[Moment | None, Query(description="starting before")] = None,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    programme_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SessionList:
    """Sessions in time order."""
    async with read_only(state.engine) as conn:
        tables = await sessions_tables(conn, state)
        t = tables["sessions"]
        query = sa.select(t).order_by(t.c.starts_at).limit(limit)
        if since is not None:
            query = query.where(t.c.starts_at >= utc(since))
        if until is not None:
            query = query.where(t.c.starts_at < utc(until))
        if topic is not None:
            query = query.where(t.c.topic == topic)
        if programme_id is not None:
            query = query.where(t.c.programme_id == programme_id)
        rows = (await conn.execute(query)).all()
        counts = await _counts(conn, tables, [r.session_id for r in rows])
    return SessionList(sessions=[_read(r, counts.get(r.session_id, {})) for r in rows])


@router.get("/{session_id}", response_model=SessionDetail)
async def read_session(session_id: uuid.UUID, principal: Reader, state: State) -> SessionDetail:
    """A session, its seats (enrolled, then waiting in line) and its roll (of the workers
    whose records the caller reads)."""
    return await session_detail(state, session_id, principal)


async def _change(
    command: Any, session_id: uuid.UUID, decide: Any, body: BaseModel = NO_BODY,
    principal: Principal | None = None,
) -> SessionDetail:  # fmt: skip
    loaded = await command.load(s.stream_id(session_id), s.evolve, field="session_id")
    await command.change(body, loaded, decide)
    return await session_detail(command.state, session_id, principal)


@router.post("/{session_id}/reschedule", response_model=SessionDetail)
async def reschedule_session(
    session_id: uuid.UUID, body: Reschedule, principal: Manager, state: State, command: Command,
    keys: Keys,
) -> SessionDetail:  # fmt: skip
    """Move a session (before it is held); the reason is sealed with the session's key."""
    await command.load(s.stream_id(session_id), s.evolve, field="session_id")
    seal = await seal_for(state, keys, session_id, body.reason, field="reason")
    return await _change(
        command, session_id,
        lambda x: s.reschedule(x, starts_at=body.starts_at, ends_at=body.ends_at,
                               place=body.place, reason=body.reason, seal=seal),
        body,
    )  # fmt: skip


@router.post("/{session_id}/cancel", response_model=SessionDetail)
async def cancel_session(
    session_id: uuid.UUID, body: Reason, principal: Manager, state: State, command: Command,
    keys: Keys,
) -> SessionDetail:  # fmt: skip
    """Cancel a session (before it is held); the reason is sealed with the session's key."""
    await command.load(s.stream_id(session_id), s.evolve, field="session_id")
    seal = await seal_for(state, keys, session_id, body.reason, field="reason")
    return await _change(
        command, session_id, lambda x: s.cancel(x, reason=body.reason, seal=seal), body
    )


@router.post("/{session_id}/materials", response_model=SessionDetail)
async def attach_material(
    session_id: uuid.UUID, body: s.Material, principal: Manager, command: Command
) -> SessionDetail:
    """Attach a material by reference."""
    return await _change(command, session_id, lambda x: s.attach(x, material=body), body)


@router.post("/{session_id}/enrolments", response_model=SessionDetail)
async def enrol(
    session_id: uuid.UUID, body: EnrolmentCreate, principal: Enroller, state: State,
    command: Command,
) -> SessionDetail:  # fmt: skip
    """Enrol a worker (a worker may enrol themselves): a place, or a place in line when full."""
    async with read_only(state.engine) as conn:
        await acting_worker(
            conn, state, principal, body.worker_id, refusal="a grid worker enrols only themselves"
        )
    return await _change(
        command, session_id,
        lambda x: s.enrol(x, worker_id=body.worker_id, now=datetime.now(UTC)), body,
        principal=principal,
    )  # fmt: skip


@router.delete("/{session_id}/enrolments/{worker_id}", response_model=SessionDetail)
async def withdraw(
    session_id: uuid.UUID, worker_id: uuid.UUID, principal: Enroller, state: State,
    command: Command,
) -> SessionDetail:  # fmt: skip
    """Withdraw a worker; the place goes to the first worker waiting."""
    async with read_only(state.engine) as conn:
        await acting_worker(
            conn, state, principal, worker_id, refusal="a grid worker withdraws only themselves"
        )
    return await _change(
        command,
        session_id,
        lambda x: s.withdraw(x, worker_id=worker_id, now=datetime.now(UTC)),
        principal=principal,
    )


@router.put("/{session_id}/attendance/{worker_id}", response_model=SessionDetail)
async def record_attendance(
    session_id: uuid.UUID, worker_id: uuid.UUID, body: AttendanceSet, principal: Manager,
    state: State, command: Command, keys: Keys,
) -> SessionDetail:  # fmt: skip
    """Record (or correct) how a worker attended, once the session has started; a note is
    sealed with the worker's key and shown redacted."""
    async with read_only(state.engine) as conn:
        await known_worker(conn, state, worker_id)
    await command.load(s.stream_id(session_id), s.evolve, field="session_id")
    seal = await seal_for(state, keys, worker_id, body.note, field="note")
    return await _change(
        command, session_id,
        lambda x: s.record_attendance(
            x, worker_id=worker_id, attendance=body.attendance, now=datetime.now(UTC),
            by=principal.subject, note=body.note, seal=seal,
        ),
        body,
    )  # fmt: skip


@router.put("/{session_id}/assessments/{worker_id}", response_model=SessionDetail)
async def record_assessment(
    session_id: uuid.UUID, worker_id: uuid.UUID, body: AssessmentSet, principal: Manager,
    command: Command,
) -> SessionDetail:  # fmt: skip
    """Record (or correct) a worker's score in the session's assessment."""
    return await _change(
        command, session_id,
        lambda x: s.record_assessment(
            x, worker_id=worker_id, score=body.score, max_score=body.max_score,
            by=principal.subject,
        ),
        body,
    )  # fmt: skip
