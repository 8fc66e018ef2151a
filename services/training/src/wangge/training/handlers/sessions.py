"""Commands on topic sessions: schedule, move, cancel, attach materials, enrol and withdraw
(the waiting list moves up in the same decision), attendance and scores per worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from wangge.events.command import NO_BODY, CommandRunner
from wangge.events.sealing import KeyRing
from wangge.governance.times import today
from wangge.training.bootstrap import TrainingCore
from wangge.training.bounds import MAX_SCORE, Moment
from wangge.training.domain import programmes
from wangge.training.domain import sessions as s
from wangge.training.handlers import reading, start
from wangge.training.personal_data import seal_for
from wangge.training.projections.roster_queries import (
    departed,
    known_worker,
    roster_tables,
    serving_worker,
)


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


async def schedule(commands: CommandRunner, keys: KeyRing, cmd: SessionCreate) -> uuid.UUID:
    """Schedule a session (a programme's module names the programme and the module's code);
    the instructors' names are sealed with the session's key. Returns the session's id."""
    if cmd.programme_id is not None:
        loaded = await commands.load(
            programmes.stream_id(cmd.programme_id), programmes.evolve, field="programme_id"
        )
        assert loaded.state is not None
        if cmd.module_code not in loaded.state.modules:
            raise s.InvalidTraining(
                f"the programme has no module {cmd.module_code!r}", field="module_code"
            )
    session_id = uuid.uuid4()
    seal = await seal_for(
        commands.store.engine, keys, session_id, "instructors", field="instructors"
    )
    events = s.schedule(
        session_id=session_id, topic=cmd.topic, programme_id=cmd.programme_id,
        module_code=cmd.module_code, instructors=cmd.instructors, starts_at=cmd.starts_at,
        ends_at=cmd.ends_at, place=cmd.place, capacity=cmd.capacity, materials=cmd.materials,
        seal=seal,
    )  # fmt: skip
    return await start(commands, cmd, s.stream_id(session_id), events)


async def reschedule(
    commands: CommandRunner, keys: KeyRing, cmd: Reschedule, *, session_id: uuid.UUID
) -> None:
    """Move a session (before it is held); the reason is sealed with the session's key."""
    loaded = await commands.load(s.stream_id(session_id), s.evolve, field="session_id")
    seal = await seal_for(commands.store.engine, keys, session_id, cmd.reason, field="reason")
    await commands.change(
        cmd, loaded,
        lambda x: s.reschedule(x, starts_at=cmd.starts_at, ends_at=cmd.ends_at, place=cmd.place,
                               reason=cmd.reason, seal=seal),
    )  # fmt: skip


async def cancel(
    commands: CommandRunner, keys: KeyRing, cmd: Reason, *, session_id: uuid.UUID
) -> None:
    """Cancel a session (before it is held); the reason is sealed with the session's key."""
    loaded = await commands.load(s.stream_id(session_id), s.evolve, field="session_id")
    seal = await seal_for(commands.store.engine, keys, session_id, cmd.reason, field="reason")
    await commands.change(cmd, loaded, lambda x: s.cancel(x, reason=cmd.reason, seal=seal))


async def attach(commands: CommandRunner, cmd: s.Material, *, session_id: uuid.UUID) -> None:
    """Attach a material by reference."""
    loaded = await commands.load(s.stream_id(session_id), s.evolve, field="session_id")
    await commands.change(cmd, loaded, lambda x: s.attach(x, material=cmd))


async def enrol(
    commands: CommandRunner, core: TrainingCore, cmd: EnrolmentCreate, *, session_id: uuid.UUID
) -> None:
    """Enrol a worker who serves (409 for one who left): a place, or a place in line when the
    session is full."""
    async with reading(commands) as conn:
        await serving_worker(conn, await roster_tables(conn, core), cmd.worker_id, today=today())
    loaded = await commands.load(s.stream_id(session_id), s.evolve, field="session_id")
    await commands.change(
        cmd, loaded, lambda x: s.enrol(x, worker_id=cmd.worker_id, now=datetime.now(UTC))
    )


async def withdraw(
    commands: CommandRunner, core: TrainingCore, *, session_id: uuid.UUID, worker_id: uuid.UUID
) -> None:
    """Withdraw a worker; the place goes to the first worker waiting who still serves."""
    loaded = await commands.load(s.stream_id(session_id), s.evolve, field="session_id")
    waiting = loaded.state.waiting if loaded.state is not None else ()
    async with reading(commands) as conn:
        gone = await departed(conn, await roster_tables(conn, core), waiting, today=today())
    await commands.change(
        NO_BODY, loaded,
        lambda x: s.withdraw(x, worker_id=worker_id, now=datetime.now(UTC), departed=gone),
    )  # fmt: skip


async def record_attendance(
    commands: CommandRunner, core: TrainingCore, cmd: AttendanceSet, *,
    session_id: uuid.UUID, worker_id: uuid.UUID,
) -> None:  # fmt: skip
    """Record (or correct) how a worker on the roster attended, once the session has started;
    a note is sealed with the worker's key."""
    async with reading(commands) as conn:
        await known_worker(conn, await roster_tables(conn, core), worker_id)
    loaded = await commands.load(s.stream_id(session_id), s.evolve, field="session_id")
    seal = await seal_for(commands.store.engine, core.keyring, worker_id, cmd.note, field="note")
    await commands.change(
        cmd, loaded,
        lambda x: s.record_attendance(
            x, worker_id=worker_id, attendance=cmd.attendance, now=datetime.now(UTC),
            by=commands.actor, note=cmd.note, seal=seal,
        ),
    )  # fmt: skip


async def record_assessment(
    commands: CommandRunner, cmd: AssessmentSet, *, session_id: uuid.UUID, worker_id: uuid.UUID
) -> None:
    """Record (or correct) a worker's score in the session's assessment."""
    loaded = await commands.load(s.stream_id(session_id), s.evolve, field="session_id")
    await commands.change(
        cmd, loaded,
        lambda x: s.record_assessment(
            x, worker_id=worker_id, score=cmd.score, max_score=cmd.max_score, by=commands.actor
        ),
    )  # fmt: skip
