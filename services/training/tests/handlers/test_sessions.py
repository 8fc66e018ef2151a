"""Session commands below HTTP, on the embedded store: the read models follow in the command's
own transaction, a retry answers the first result, a stale version is refused."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from wangge.events import Metadata
from wangge.events.command import CommandRunner
from wangge.events.db import read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.governance.times import today
from wangge.training.bootstrap import TrainingCore
from wangge.training.domain import sessions as s
from wangge.training.handlers import forums, sessions
from wangge.training.projections.development import development_tables, forum_detail
from wangge.training.projections.roster_queries import UnknownWorker, WorkerLeft
from wangge.training.projections.sessions import attended, session_detail, sessions_tables
from wangge.training.projections.statements import VERBS, session_iri
from wangge.training.projections.statements_queries import (
    statements_page,
    statements_tables,
)

Appoint = Callable[[], Awaitable[uuid.UUID]]
Leave = Callable[[uuid.UUID, date], Awaitable[None]]


def _as_trainer(
    core: TrainingCore, *, idempotency_key: str | None = None, expected_version: int | None = None
) -> CommandRunner:
    return core.commands(
        Metadata(actor="trainer-wang"),
        idempotency_key=idempotency_key,
        expected_version=expected_version,
    )


def _session(starts_in: timedelta = timedelta(days=-1)) -> sessions.SessionCreate:
    starts_at = datetime.now(UTC).replace(microsecond=0) + starts_in
    return sessions.SessionCreate(
        topic="防范非法集资",
        instructors=[s.Instructor(name="王科长", kind=s.InstructorKind.STAFF)],
        starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), place="街道会议室",
        capacity=2,
    )  # fmt: skip


async def test_a_recorded_attendance_is_in_the_records_and_statements_when_the_command_returns(
    core: TrainingCore, appoint: Appoint
) -> None:
    worker_id = await appoint()
    session_id = await sessions.schedule(_as_trainer(core), core.keyring, _session())
    await sessions.record_attendance(
        _as_trainer(core), core,
        sessions.AttendanceSet(attendance=s.Attendance.PRESENT, note="准时"),
        session_id=session_id, worker_id=worker_id,
    )  # fmt: skip
    # no runner ran: the inline read models were written in the command's transaction
    async with read_only(core.store.engine) as conn:
        tables = await sessions_tables(conn, core)
        detail = await session_detail(conn, tables, session_id)
        record = await attended(conn, tables, worker_id)
        statements = await statements_page(
            conn, await statements_tables(conn, core), actor_id=worker_id, size=10
        )
    assert [(r.worker_id, r.attendance) for r in detail.roll] == [(worker_id, "present")]
    assert [(x.session_id, x.hours) for x in record] == [(session_id, 2.0)]
    assert [(x.verb, x.activity) for x in statements] == [
        (VERBS["attended"][0], session_iri(session_id))
    ]


async def test_a_forum_held_is_in_the_development_read_model_when_the_command_returns(
    core: TrainingCore, appoint: Appoint
) -> None:
    worker_id = await appoint()
    forum = forums.ForumCreate(
        topic="网格服务清单怎么改", held_at=datetime.now(UTC) - timedelta(days=1),
        place="社区活动室", participants=[worker_id], guests=["李书记"],
    )  # fmt: skip
    forum_id = await forums.hold(_as_trainer(core), core, forum)
    async with read_only(core.store.engine) as conn:
        detail = await forum_detail(conn, await development_tables(conn, core), forum_id)
    assert detail.participants == [worker_id] and detail.guests == ["李**"]


async def test_a_worker_the_registry_never_appointed_is_refused_before_anything_is_written(
    core: TrainingCore,
) -> None:
    session_id = await sessions.schedule(_as_trainer(core), core.keyring, _session())
    with pytest.raises(UnknownWorker):
        await sessions.record_attendance(
            _as_trainer(core), core,
            sessions.AttendanceSet(attendance=s.Attendance.PRESENT),
            session_id=session_id, worker_id=uuid.uuid4(),
        )  # fmt: skip
    assert len(await core.store.read_stream(s.stream_id(session_id))) == 1


async def test_the_same_idempotency_key_answers_the_first_session_and_appends_nothing(
    core: TrainingCore, appoint: Appoint
) -> None:
    body = _session(timedelta(days=3))
    first = await sessions.schedule(_as_trainer(core, idempotency_key="k-1"), core.keyring, body)
    again = await sessions.schedule(_as_trainer(core, idempotency_key="k-1"), core.keyring, body)
    assert again == first
    enrol = sessions.EnrolmentCreate(worker_id=await appoint())
    for _ in range(2):
        await sessions.enrol(
            _as_trainer(core, idempotency_key="k-2"), core, enrol, session_id=first
        )
    events = await core.store.read_stream(s.stream_id(first))
    assert [type(e.data).__name__ for e in events] == ["TrainingSessionScheduled", "WorkerEnrolled"]


async def test_a_command_sent_against_a_stale_version_is_a_conflict(core: TrainingCore) -> None:
    session_id = await sessions.schedule(
        _as_trainer(core), core.keyring, _session(timedelta(days=3))
    )
    await sessions.attach(
        _as_trainer(core, expected_version=1),
        s.Material(title="课件", uri="https://example.invalid/a.pdf"),
        session_id=session_id,
    )
    with pytest.raises(ConcurrencyConflict):
        await sessions.attach(
            _as_trainer(core, expected_version=1),
            s.Material(title="讲义", uri="https://example.invalid/b.pdf"),
            session_id=session_id,
        )
    assert len(await core.store.read_stream(s.stream_id(session_id))) == 2


async def test_a_worker_who_left_is_neither_enrolled_nor_moved_up_from_the_line(
    core: TrainingCore, appoint: Appoint, leave: Leave
) -> None:
    session_id = await sessions.schedule(
        _as_trainer(core), core.keyring, _session(timedelta(days=3))
    )
    first, second, gone, last = [await appoint() for _ in range(4)]
    for worker in (first, second, gone, last):  # two places: gone and last wait in line
        await sessions.enrol(
            _as_trainer(core), core, sessions.EnrolmentCreate(worker_id=worker),
            session_id=session_id,
        )  # fmt: skip
    await leave(gone, today() - timedelta(days=1))
    await sessions.withdraw(_as_trainer(core), core, session_id=session_id, worker_id=first)
    events = await core.store.read_stream(s.stream_id(session_id))
    assert events[-1].data == s.WorkerEnrolled(
        session_id=session_id, worker_id=last, from_waitlist=True
    )  # the first in line who still serves
    left_already = await appoint()
    await leave(left_already, today())
    with pytest.raises(WorkerLeft):
        await sessions.enrol(
            _as_trainer(core), core, sessions.EnrolmentCreate(worker_id=left_already),
            session_id=session_id,
        )  # fmt: skip
    assert len(await core.store.read_stream(s.stream_id(session_id))) == len(events)
