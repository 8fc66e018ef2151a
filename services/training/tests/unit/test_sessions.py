"""A session's scheduling, its waiting list, attendance and scores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from wangge.events import DomainEvent
from wangge.training.domain import sessions
from wangge.training.domain.sessions import (
    Attendance,
    Instructor,
    InstructorKind,
    InvalidTraining,
    Session,
    WorkerEnrolled,
    WorkerWaitlisted,
    WrongState,
)

NOW = datetime(2026, 5, 10, 9, tzinfo=UTC)
STAFF = Instructor(name="王科长", kind=InstructorKind.STAFF)


def run(state: Session | None, events: list[DomainEvent]) -> Session:
    for event in events:
        state = sessions.evolve(state, event, 0)
    assert state is not None
    return state


def scheduled(capacity: int = 2, starts_in: timedelta = timedelta(days=7)) -> Session:
    starts = NOW + starts_in
    return run(
        None,
        sessions.schedule(
            session_id=uuid.uuid4(), topic="防范非法集资", programme_id=None, module_code=None,
            instructors=[STAFF], starts_at=starts, ends_at=starts + timedelta(hours=1, minutes=30),
            place="会议室", capacity=capacity, materials=[],
        ),
    )  # fmt: skip


def test_a_session_credits_its_length_to_the_quarter_hour() -> None:
    assert scheduled().hours == 1.5
    assert sessions.session_hours(NOW, NOW + timedelta(minutes=50)) == 0.75


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": NOW - timedelta(hours=1)}, "ends_at"),
        ({"ends_at": NOW + timedelta(days=8)}, "ends_at"),
        ({"programme_id": uuid.uuid4()}, "module_code"),
        ({"instructors": [Instructor(name="某律师", kind=InstructorKind.OUTSIDE)]}, "instructors"),
    ],
)
def test_a_session_that_breaks_a_rule_is_refused_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    fields: dict[str, object] = {
        "session_id": uuid.uuid4(), "topic": "t", "programme_id": None, "module_code": None,
        "instructors": [STAFF], "starts_at": NOW, "ends_at": NOW + timedelta(hours=1),
        "place": "p", "capacity": 5, "materials": [],
    }  # fmt: skip
    with pytest.raises(InvalidTraining) as refused:
        sessions.schedule(**{**fields, **change})  # type: ignore[arg-type]
    assert refused.value.field == field


def test_places_fill_then_workers_wait_in_line_and_a_withdrawal_moves_the_first_up() -> None:
    session = scheduled(capacity=1)
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for worker in (a, b, c):
        session = run(session, sessions.enrol(session, worker_id=worker, now=NOW))
    assert (session.enrolled, session.waiting) == ((a,), (b, c))
    events = sessions.withdraw(session, worker_id=a, now=NOW)
    assert isinstance(events[1], WorkerEnrolled) and events[1].from_waitlist
    session = run(session, events)
    assert (session.enrolled, session.waiting) == ((b,), (c,))
    # leaving the line frees nothing
    events = sessions.withdraw(session, worker_id=c, now=NOW)
    assert len(events) == 1
    with pytest.raises(WrongState):
        sessions.enrol(session, worker_id=b, now=NOW)


def test_enrolment_closes_when_the_session_starts_and_a_cancelled_session_takes_none() -> None:
    session = scheduled()
    with pytest.raises(WrongState):
        sessions.enrol(session, worker_id=uuid.uuid4(), now=session.starts_at)
    cancelled = run(session, sessions.cancel(session, reason="台风"))
    with pytest.raises(WrongState) as refused:
        sessions.enrol(cancelled, worker_id=uuid.uuid4(), now=NOW)
    assert refused.value.field == "session_id"


def test_attendance_waits_for_the_start_and_only_the_enrolled_are_absent() -> None:
    session = scheduled()
    enrolled, walk_in = uuid.uuid4(), uuid.uuid4()
    session = run(session, sessions.enrol(session, worker_id=enrolled, now=NOW))
    with pytest.raises(WrongState):
        sessions.record_attendance(
            session, worker_id=enrolled, attendance=Attendance.PRESENT, now=NOW, by="t"
        )
    later = session.starts_at + timedelta(minutes=5)
    session = run(
        session,
        sessions.record_attendance(
            session, worker_id=walk_in, attendance=Attendance.PRESENT, now=later, by="t"
        ),
    )
    with pytest.raises(InvalidTraining) as refused:
        sessions.record_attendance(
            session, worker_id=uuid.uuid4(), attendance=Attendance.ABSENT, now=later, by="t"
        )
    assert refused.value.field == "attendance"
    # a correction of a recorded worker is allowed; the same record again changes nothing
    corrected = sessions.record_attendance(
        session, worker_id=walk_in, attendance=Attendance.ABSENT, now=later, by="t"
    )
    assert len(corrected) == 1
    again = sessions.record_attendance(
        session, worker_id=walk_in, attendance=Attendance.PRESENT, now=later, by="t"
    )
    assert again == []
    # a held session is not moved or cancelled
    with pytest.raises(WrongState):
        sessions.cancel(session, reason="x")


def test_only_a_worker_who_attended_is_scored_and_never_above_the_maximum() -> None:
    session = scheduled(starts_in=timedelta(hours=-2))
    came, absent = uuid.uuid4(), uuid.uuid4()
    session = run(session, [WorkerEnrolled(session_id=session.session_id, worker_id=absent)])
    for worker, attendance in ((came, Attendance.LATE), (absent, Attendance.ABSENT)):
        session = run(
            session,
            sessions.record_attendance(
                session, worker_id=worker, attendance=attendance, now=NOW, by="t"
            ),
        )
    assert sessions.record_assessment(session, worker_id=came, score=80, max_score=100, by="t")
    with pytest.raises(InvalidTraining) as refused:
        sessions.record_assessment(session, worker_id=absent, score=80, max_score=100, by="t")
    assert refused.value.field == "worker_id"
    with pytest.raises(InvalidTraining) as refused:
        sessions.record_assessment(session, worker_id=came, score=101, max_score=100, by="t")
    assert refused.value.field == "score"


def test_a_worker_waitlisted_is_not_counted_as_enrolled() -> None:
    session = scheduled(capacity=1)
    first, second = uuid.uuid4(), uuid.uuid4()
    session = run(session, sessions.enrol(session, worker_id=first, now=NOW))
    [event] = sessions.enrol(session, worker_id=second, now=NOW)
    assert isinstance(event, WorkerWaitlisted)
