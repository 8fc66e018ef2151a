"""``/sessions``: topic sessions scheduled, moved and cancelled; enrolment with a waiting list;
attendance and scores per worker; materials by reference; how many workers a session reached."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from wangge.events.db import read_only
from wangge.service.commands import NO_BODY, Command
from wangge.service.deps import State
from wangge.service.errors import Forbidden, NotFound
from wangge.service.times import StoredTime, utc
from wangge.training.api.access import Manager, Reader, acting_for_self, known_worker
from wangge.training.api.bounds import Moment
from wangge.training.domain import programmes
from wangge.training.domain import sessions as s
from wangge.training.tables import sessions_tables

router = APIRouter(prefix="/sessions", tags=["sessions"])


class SessionCreate(BaseModel):
    topic: str = Field(min_length=1, max_length=200, description="e.g. 防范非法集资")
    programme_id: uuid.UUID | None = Field(default=None, description="a module's session")
    module_code: str | None = Field(default=None, max_length=40)
    instructors: list[s.Instructor] = Field(min_length=1, max_length=20)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=s.MAX_CAPACITY)
    materials: list[s.Material] = Field(default_factory=list, max_length=50)


class Reschedule(BaseModel):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
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
    score: float = Field(ge=0)
    max_score: float = Field(gt=0, default=100)


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


async def session_detail(state: Any, session_id: uuid.UUID) -> SessionDetail:
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
    return SessionDetail(
        **_read(row, counts).model_dump(),
        seats=[Seat(worker_id=r.worker_id, status=r.status) for r in seats],
        roll=[Roll.model_validate(r, from_attributes=True) for r in roll],
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionDetail)
async def schedule_session(
    body: SessionCreate, principal: Manager, state: State, command: Command
) -> SessionDetail:
    """Schedule a session (a programme's module names the programme and the module's code)."""
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
    events = s.schedule(
        session_id=session_id, topic=body.topic, programme_id=body.programme_id,
        module_code=body.module_code, instructors=body.instructors, starts_at=body.starts_at,
        ends_at=body.ends_at, place=body.place, capacity=body.capacity, materials=body.materials,
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
    """A session, its seats (enrolled, then waiting in line) and its roll."""
    return await session_detail(state, session_id)


async def _change(
    command: Any, session_id: uuid.UUID, decide: Any, body: BaseModel = NO_BODY
) -> SessionDetail:
    loaded = await command.load(s.stream_id(session_id), s.evolve, field="session_id")
    await command.change(body, loaded, decide)
    return await session_detail(command.state, session_id)


@router.post("/{session_id}/reschedule", response_model=SessionDetail)
async def reschedule_session(
    session_id: uuid.UUID, body: Reschedule, principal: Manager, command: Command
) -> SessionDetail:
    """Move a session (before it is held)."""
    return await _change(
        command, session_id,
        lambda x: s.reschedule(x, starts_at=body.starts_at, ends_at=body.ends_at,
                               place=body.place, reason=body.reason),
        body,
    )  # fmt: skip


@router.post("/{session_id}/cancel", response_model=SessionDetail)
async def cancel_session(
    session_id: uuid.UUID, body: Reason, principal: Manager, command: Command
) -> SessionDetail:
    """Cancel a session (before it is held)."""
    return await _change(command, session_id, lambda x: s.cancel(x, reason=body.reason), body)


@router.post("/{session_id}/materials", response_model=SessionDetail)
async def attach_material(
    session_id: uuid.UUID, body: s.Material, principal: Manager, command: Command
) -> SessionDetail:
    """Attach a material by reference."""
    return await _change(command, session_id, lambda x: s.attach(x, material=body), body)


@router.post("/{session_id}/enrolments", response_model=SessionDetail)
async def enrol(
    session_id: uuid.UUID, body: EnrolmentCreate, principal: Reader, state: State,
    command: Command,
) -> SessionDetail:  # fmt: skip
    """Enrol a worker (a worker may enrol themselves): a place, or a place in line when full."""
    async with read_only(state.engine) as conn:
        worker = await known_worker(conn, state, body.worker_id)
    if not acting_for_self(principal, worker):
        raise Forbidden("a grid worker enrols only themselves", field="worker_id")
    return await _change(
        command, session_id,
        lambda x: s.enrol(x, worker_id=body.worker_id, now=datetime.now(UTC)), body,
    )  # fmt: skip


@router.delete("/{session_id}/enrolments/{worker_id}", response_model=SessionDetail)
async def withdraw(
    session_id: uuid.UUID, worker_id: uuid.UUID, principal: Reader, state: State,
    command: Command,
) -> SessionDetail:  # fmt: skip
    """Withdraw a worker; the place goes to the first worker waiting."""
    async with read_only(state.engine) as conn:
        worker = await known_worker(conn, state, worker_id)
    if not acting_for_self(principal, worker):
        raise Forbidden("a grid worker withdraws only themselves", field="worker_id")
    return await _change(
        command, session_id, lambda x: s.withdraw(x, worker_id=worker_id, now=datetime.now(UTC))
    )


@router.put("/{session_id}/attendance/{worker_id}", response_model=SessionDetail)
async def record_attendance(
    session_id: uuid.UUID, worker_id: uuid.UUID, body: AttendanceSet, principal: Manager,
    state: State, command: Command,
) -> SessionDetail:  # fmt: skip
    """Record (or correct) how a worker attended, once the session has started."""
    async with read_only(state.engine) as conn:
        await known_worker(conn, state, worker_id)
    return await _change(
        command, session_id,
        lambda x: s.record_attendance(
            x, worker_id=worker_id, attendance=body.attendance, now=datetime.now(UTC),
            by=principal.subject, note=body.note,
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
