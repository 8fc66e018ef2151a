"""Training sessions (培训 / 专题培训): a topic taught at a time and place by staff or outside
instructors (a lawyer on illegal fund-raising, say), to grid workers who enrol up to the
session's capacity and then wait in line.

A session is a stream of its own (``session-<uuid>``). Its attendance is recorded per worker
once it has started; a record given again for the same worker corrects the first (the event
stays in the log; read models and xAPI statements follow the newest, the earlier statement is
voided). A withdrawal frees a place for the first worker waiting, in the same decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.errors import Conflict, DomainError
from wangge.governance.personal import mask_name
from wangge.governance.redaction import redact

SERVICE = "training"
MAX_CAPACITY = 2000


def sealed_field() -> Any:
    """An event's ``sealed`` block: the personal data its clear fields keep only redacted or
    masked, sealed with their subject's key (absent in events written before sealing)."""
    return Field(default=None, description="personal data sealed with their subject's key")


def sealed(seal: Seal | None, **block: object) -> Sealed | None:
    """The block's non-empty values sealed with the subject's key (None when there is nothing
    to seal, or no seal: a seeded year keeps only the clear copies)."""
    kept = {k: v for k, v in block.items() if v}
    return seal(kept) if seal is not None and kept else None


class InvalidTraining(DomainError):
    """The training data breaks a rule."""

    slug = "invalid-training"
    title = "The training record breaks a rule"


class WrongState(Conflict):
    """The record is not where this step needs it (a cancelled session, a closed secondment)."""

    slug = "training-state"
    title = "The record's state does not allow this"


class InstructorKind(StrEnum):
    STAFF = "staff"
    OUTSIDE = "outside"


class Instructor(BaseModel):
    """Who teaches: the subdistrict's own staff, or an outside expert with their organisation."""

    name: str = Field(min_length=1, max_length=100)
    kind: InstructorKind
    organisation: str | None = Field(default=None, max_length=200)


class Material(BaseModel):
    """A material attached by reference (the file lives in the document store, not here)."""

    title: str = Field(min_length=1, max_length=200)
    uri: str = Field(min_length=1, max_length=2000, description="where the material is kept")
    media_type: str | None = Field(default=None, max_length=100)


class Attendance(StrEnum):
    """How a worker attended; present and late earn the session's hours."""

    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"


ATTENDED = frozenset({Attendance.PRESENT, Attendance.LATE})


def stream_id(session_id: uuid.UUID) -> str:
    """The stream of a training session."""
    return f"session-{session_id}"


@default_catalogue.event(SERVICE)
class TrainingSessionScheduled(DomainEvent):
    """A session is planned: topic, module of a programme (if any), instructors, time, place."""

    session_id: uuid.UUID
    topic: str = Field(min_length=1, max_length=200)
    programme_id: uuid.UUID | None = None
    module_code: str | None = Field(default=None, max_length=40)
    instructors: list[Instructor] = Field(min_length=1, max_length=20)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=MAX_CAPACITY)
    materials: list[Material] = Field(default_factory=list, max_length=50)
    sealed: Sealed | None = sealed_field()
    """``instructors``: their names (the session's key); the clear list masks them."""


@default_catalogue.event(SERVICE)
class TrainingSessionRescheduled(DomainEvent):
    session_id: uuid.UUID
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    sealed: Sealed | None = sealed_field()
    """``reason`` (the session's key)."""


@default_catalogue.event(SERVICE)
class TrainingSessionCancelled(DomainEvent):
    session_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=500)
    sealed: Sealed | None = sealed_field()
    """``reason`` (the session's key)."""


@default_catalogue.event(SERVICE)
class WorkerEnrolled(DomainEvent):
    """A worker has a place (``from_waitlist``: the place a withdrawal freed)."""

    session_id: uuid.UUID
    worker_id: uuid.UUID
    from_waitlist: bool = False


@default_catalogue.event(SERVICE)
class WorkerWaitlisted(DomainEvent):
    """The session is full: the worker waits in line for a place."""

    session_id: uuid.UUID
    worker_id: uuid.UUID


@default_catalogue.event(SERVICE)
class EnrolmentWithdrawn(DomainEvent):
    """A worker gives up their place (or their place in line)."""

    session_id: uuid.UUID
    worker_id: uuid.UUID


@default_catalogue.event(SERVICE)
class AttendanceRecorded(DomainEvent):
    """How a worker attended; a later record for the same worker corrects this one."""

    session_id: uuid.UUID
    worker_id: uuid.UUID
    attendance: Attendance
    recorded_by: str = Field(description="the trainer's account")
    note: str = Field(default="", max_length=500)
    sealed: Sealed | None = sealed_field()
    """``note`` (the worker's key)."""


@default_catalogue.event(SERVICE)
class AssessmentRecorded(DomainEvent):
    """A worker's score in the session's assessment; a later one for the worker corrects it."""

    session_id: uuid.UUID
    worker_id: uuid.UUID
    score: float = Field(ge=0)
    max_score: float = Field(gt=0)
    recorded_by: str


@default_catalogue.event(SERVICE)
class MaterialAttached(DomainEvent):
    session_id: uuid.UUID
    material: Material


@dataclass(frozen=True)
class Session:
    """A session's state: what its decisions need."""

    session_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    cancelled: bool = False
    enrolled: tuple[uuid.UUID, ...] = ()
    waiting: tuple[uuid.UUID, ...] = ()
    attendance: dict[uuid.UUID, Attendance] = field(default_factory=dict)

    @property
    def hours(self) -> float:
        return session_hours(self.starts_at, self.ends_at)


def session_hours(starts_at: datetime, ends_at: datetime) -> float:
    """The hours a session credits to those who attend it (to the quarter hour)."""
    return round((ends_at - starts_at).total_seconds() / 900) / 4


def evolve(state: Session | None, event: DomainEvent, version: int) -> Session:
    if isinstance(event, TrainingSessionScheduled):
        return Session(event.session_id, event.starts_at, event.ends_at, event.capacity)
    if state is None:
        raise ValueError(f"a session starts with TrainingSessionScheduled, not {event!r}")
    if isinstance(event, TrainingSessionRescheduled):
        return replace(state, starts_at=event.starts_at, ends_at=event.ends_at)
    if isinstance(event, TrainingSessionCancelled):
        return replace(state, cancelled=True)
    if isinstance(event, WorkerEnrolled):
        waiting = tuple(w for w in state.waiting if w != event.worker_id)
        return replace(state, enrolled=(*state.enrolled, event.worker_id), waiting=waiting)
    if isinstance(event, WorkerWaitlisted):
        return replace(state, waiting=(*state.waiting, event.worker_id))
    if isinstance(event, EnrolmentWithdrawn):
        return replace(
            state,
            enrolled=tuple(w for w in state.enrolled if w != event.worker_id),
            waiting=tuple(w for w in state.waiting if w != event.worker_id),
        )
    if isinstance(event, AttendanceRecorded):
        return replace(state, attendance={**state.attendance, event.worker_id: event.attendance})
    return state


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidTraining("a session ends after it starts", field="ends_at")
    if (ends_at - starts_at).days >= 7:
        raise InvalidTraining("a session lasts less than a week", field="ends_at")


def schedule(
    *,
    session_id: uuid.UUID,
    topic: str,
    programme_id: uuid.UUID | None,
    module_code: str | None,
    instructors: list[Instructor],
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    capacity: int,
    materials: list[Material],
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """A session; its instructors' names sealed with the session's key (``seal``), and its
    announced texts (topic, place, titles) kept with any number or address in them masked."""
    _check_times(starts_at, ends_at)
    if (programme_id is None) != (module_code is None):
        raise InvalidTraining(
            "a programme's session names both the programme and its module", field="module_code"
        )
    for instructor in instructors:
        if instructor.kind == InstructorKind.OUTSIDE and not instructor.organisation:
            raise InvalidTraining(
                "an outside instructor is named with their organisation", field="instructors"
            )
    return [
        TrainingSessionScheduled(
            session_id=session_id, topic=redact(topic), programme_id=programme_id,
            module_code=module_code, instructors=[_masked(i) for i in instructors],
            starts_at=starts_at, ends_at=ends_at, place=redact(place), capacity=capacity,
            materials=[_announced(m) for m in materials],
            sealed=sealed(seal, instructors=[i.name for i in instructors]),
        )
    ]  # fmt: skip


def _masked(instructor: Instructor) -> Instructor:
    organisation = instructor.organisation
    return instructor.model_copy(
        update={"name": mask_name(instructor.name),
                "organisation": redact(organisation) if organisation else organisation}
    )  # fmt: skip


def _announced(material: Material) -> Material:
    # the address is left as given: a digit run in a link is an id, and masking it breaks it
    return material.model_copy(update={"title": redact(material.title)})


def _open(session: Session) -> None:
    if session.cancelled:
        raise WrongState("the session was cancelled", field="session_id")


def reschedule(
    session: Session,
    *,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    reason: str,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """A new time or place; the reason sealed with the session's key, redacted in clear."""
    _open(session)
    if session.attendance:
        raise WrongState("the session was held: its attendance is recorded", field="session_id")
    _check_times(starts_at, ends_at)
    return [
        TrainingSessionRescheduled(
            session_id=session.session_id, starts_at=starts_at, ends_at=ends_at,
            place=redact(place), reason=redact(reason), sealed=sealed(seal, reason=reason),
        )
    ]  # fmt: skip


def cancel(session: Session, *, reason: str, seal: Seal | None = None) -> list[DomainEvent]:
    """Called off; the reason sealed with the session's key, redacted in clear."""
    _open(session)
    if session.attendance:
        raise WrongState("the session was held: its attendance is recorded", field="session_id")
    return [
        TrainingSessionCancelled(
            session_id=session.session_id, reason=redact(reason), sealed=sealed(seal, reason=reason)
        )
    ]


def enrol(session: Session, *, worker_id: uuid.UUID, now: datetime) -> list[DomainEvent]:
    """A place if one is free, else a place in line."""
    _open(session)
    if now >= session.starts_at:
        raise WrongState("enrolment closes when the session starts", field="session_id")
    if worker_id in session.enrolled or worker_id in session.waiting:
        raise WrongState("the worker is enrolled already", field="worker_id")
    if len(session.enrolled) < session.capacity:
        return [WorkerEnrolled(session_id=session.session_id, worker_id=worker_id)]
    return [WorkerWaitlisted(session_id=session.session_id, worker_id=worker_id)]


def withdraw(
    session: Session,
    *,
    worker_id: uuid.UUID,
    now: datetime,
    departed: Collection[uuid.UUID] = (),
) -> list[DomainEvent]:
    """The worker leaves; a place they held goes to the first worker waiting who still serves
    (not one of ``departed``, the grid workers who have left since they joined the line)."""
    _open(session)
    if now >= session.starts_at:
        raise WrongState("the session has started: record the worker as excused", field="worker_id")
    if worker_id not in session.enrolled and worker_id not in session.waiting:
        raise WrongState("the worker is not enrolled", field="worker_id")
    events: list[DomainEvent] = [
        EnrolmentWithdrawn(session_id=session.session_id, worker_id=worker_id)
    ]
    next_in_line = next((w for w in session.waiting if w not in departed), None)
    if worker_id in session.enrolled and next_in_line is not None:
        events.append(
            WorkerEnrolled(
                session_id=session.session_id, worker_id=next_in_line, from_waitlist=True
            )
        )
    return events


def record_attendance(
    session: Session,
    *,
    worker_id: uuid.UUID,
    attendance: Attendance,
    now: datetime,
    by: str,
    note: str = "",
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """A worker's attendance; one who turns up without enrolling is recorded too, but only an
    enrolled worker can be absent or excused (or one recorded before: a correction). The note
    is sealed with the worker's key, redacted in clear."""
    _open(session)
    if now < session.starts_at:
        raise WrongState("attendance is recorded once the session starts", field="session_id")
    known = worker_id in session.enrolled or worker_id in session.attendance
    if attendance not in ATTENDED and not known:
        raise InvalidTraining("only an enrolled worker is absent or excused", field="attendance")
    if session.attendance.get(worker_id) == attendance:
        return []  # the same record again
    return [
        AttendanceRecorded(
            session_id=session.session_id, worker_id=worker_id, attendance=attendance,
            recorded_by=by, note=redact(note), sealed=sealed(seal, note=note),
        )
    ]  # fmt: skip


def record_assessment(
    session: Session, *, worker_id: uuid.UUID, score: float, max_score: float, by: str
) -> list[DomainEvent]:
    """A score, for a worker who attended."""
    _open(session)
    if session.attendance.get(worker_id) not in ATTENDED:
        raise InvalidTraining("only a worker who attended is assessed", field="worker_id")
    if score > max_score:
        raise InvalidTraining("the score is at most the maximum score", field="score")
    return [
        AssessmentRecorded(
            session_id=session.session_id, worker_id=worker_id, score=score,
            max_score=max_score, recorded_by=by,
        )
    ]  # fmt: skip


def attach(session: Session, *, material: Material) -> list[DomainEvent]:
    _open(session)
    return [MaterialAttached(session_id=session.session_id, material=_announced(material))]
