"""Training programmes (轮训): a set of required modules, each with its hours (and, if it is
examined, a pass mark), taken in order or within a period, e.g. a "6+1+3" rotation scheme.

Workers are enrolled in a programme; whether they completed a module, or the programme, is never
typed in: :func:`progress` derives it from the sessions they attended (each session of a module
credits its hours) and the scores they were given there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from pydantic import BaseModel, Field

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.redaction import redact
from wangge.training.domain.sessions import (
    SERVICE,
    InvalidTraining,
    WrongState,
    sealed,
    sealed_field,
)


class Module(BaseModel):
    """A required part of a programme."""

    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    title: str = Field(min_length=1, max_length=200)
    hours: float = Field(gt=0, le=2000, description="the hours of sessions it takes")
    pass_score: float | None = Field(
        default=None, ge=0, le=100, description="examined: the percentage a score must reach"
    )


def stream_id(programme_id: uuid.UUID) -> str:
    """The stream of a programme."""
    return f"programme-{programme_id}"


@default_catalogue.event(SERVICE)
class ProgrammeDefined(DomainEvent):
    """A programme: its modules, whether they are taken in order, and the period allowed."""

    programme_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    modules: list[Module] = Field(min_length=1, max_length=100)
    ordered: bool = Field(description="each module counts only once the one before is complete")
    period_days: int | None = Field(
        default=None, ge=1, le=3660, description="days from enrolment to complete it in"
    )


@default_catalogue.event(SERVICE)
class WorkerEnrolledInProgramme(DomainEvent):
    programme_id: uuid.UUID
    worker_id: uuid.UUID
    on: date


@default_catalogue.event(SERVICE)
class WorkerLeftProgramme(DomainEvent):
    """The worker no longer follows the programme; their record of it stays."""

    programme_id: uuid.UUID
    worker_id: uuid.UUID
    on: date
    reason: str = Field(min_length=1, max_length=500)
    sealed: Sealed | None = sealed_field()
    """``reason`` (the worker's key)."""


@dataclass(frozen=True)
class Programme:
    programme_id: uuid.UUID
    modules: tuple[str, ...]
    enrolled: frozenset[uuid.UUID] = frozenset()


def evolve(state: Programme | None, event: DomainEvent, version: int) -> Programme:
    if isinstance(event, ProgrammeDefined):
        return Programme(event.programme_id, tuple(m.code for m in event.modules))
    if state is None:
        raise ValueError(f"a programme starts with ProgrammeDefined, not {event!r}")
    if isinstance(event, WorkerEnrolledInProgramme):
        return replace(state, enrolled=state.enrolled | {event.worker_id})
    if isinstance(event, WorkerLeftProgramme):
        return replace(state, enrolled=state.enrolled - {event.worker_id})
    return state


def define(
    *,
    programme_id: uuid.UUID,
    name: str,
    description: str,
    modules: list[Module],
    ordered: bool,
    period_days: int | None,
) -> list[DomainEvent]:
    """A programme; its published texts kept with any number or address in them masked."""
    codes = [m.code for m in modules]
    if len(set(codes)) != len(codes):
        raise InvalidTraining("each module has a code of its own", field="modules")
    return [
        ProgrammeDefined(
            programme_id=programme_id, name=redact(name), description=redact(description),
            modules=[m.model_copy(update={"title": redact(m.title)}) for m in modules],
            ordered=ordered, period_days=period_days,
        )
    ]  # fmt: skip


def enrol(programme: Programme, *, worker_id: uuid.UUID, on: date) -> list[DomainEvent]:
    if worker_id in programme.enrolled:
        raise WrongState("the worker is enrolled in the programme already", field="worker_id")
    return [
        WorkerEnrolledInProgramme(programme_id=programme.programme_id, worker_id=worker_id, on=on)
    ]


def leave(
    programme: Programme, *, worker_id: uuid.UUID, on: date, reason: str, seal: Seal | None = None
) -> list[DomainEvent]:
    """The worker leaves; why is sealed with the worker's key, redacted in clear."""
    if worker_id not in programme.enrolled:
        raise WrongState("the worker is not enrolled in the programme", field="worker_id")
    return [
        WorkerLeftProgramme(
            programme_id=programme.programme_id, worker_id=worker_id, on=on,
            reason=redact(reason), sealed=sealed(seal, reason=reason),
        )
    ]  # fmt: skip


@dataclass(frozen=True)
class Credit:
    """A session of a module a worker attended: its day, its hours, their score (if any)."""

    module_code: str
    on: date
    hours: float
    score_percent: float | None = None


@dataclass(frozen=True)
class ModuleProgress:
    code: str
    title: str
    hours_required: float
    hours_done: float
    pass_score: float | None
    best_score: float | None
    completed_on: date | None


@dataclass(frozen=True)
class Progress:
    modules: tuple[ModuleProgress, ...]
    completed_on: date | None

    @property
    def missing(self) -> tuple[ModuleProgress, ...]:
        """The modules still to complete."""
        return tuple(m for m in self.modules if m.completed_on is None)


def progress(
    modules: Sequence[Module],
    *,
    ordered: bool,
    period_days: int | None,
    enrolled_on: date,
    credits: Iterable[Credit],
) -> Progress:
    """Where a worker stands in a programme, from the sessions they attended.

    A module is complete on the day its hours are reached and, if it is examined, a score at
    its pass mark was given. Only sessions from the enrolment on count, and within the period
    when there is one; in an ordered programme a module's sessions count from the day the
    module before it was completed.
    """
    last_day = enrolled_on + timedelta(days=period_days - 1) if period_days else None
    by_module: dict[str, list[Credit]] = {}
    for credit in sorted(credits, key=lambda c: c.on):
        if credit.on < enrolled_on or (last_day is not None and credit.on > last_day):
            continue
        by_module.setdefault(credit.module_code, []).append(credit)
    done: list[ModuleProgress] = []
    opens_on: date | None = enrolled_on
    for module in modules:
        hours, best, completed = 0.0, None, None
        for credit in by_module.get(module.code, []):
            if opens_on is None or credit.on < opens_on:
                continue
            hours += credit.hours
            if credit.score_percent is not None:
                best = credit.score_percent if best is None else max(best, credit.score_percent)
            passed = module.pass_score is None or (best is not None and best >= module.pass_score)
            if completed is None and hours >= module.hours and passed:
                completed = credit.on
        done.append(
            ModuleProgress(
                code=module.code, title=module.title, hours_required=module.hours,
                hours_done=hours, pass_score=module.pass_score, best_score=best,
                completed_on=completed,
            )
        )  # fmt: skip
        if ordered:
            opens_on = completed
    complete = all(m.completed_on is not None for m in done)
    completed_on = max(m.completed_on for m in done if m.completed_on) if complete else None
    return Progress(tuple(done), completed_on)
