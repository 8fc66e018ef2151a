"""Secondments (跟班学习 / 轮岗): a grid worker placed with a host for a period, to learn a
desk's work where residents meet it: the subdistrict's service hall (便民服务大厅), a
department, a community's office. A mentor there guides them towards goals set beforehand.

A secondment is a stream of its own (``secondment-<uuid>``). Its period may be extended, never
shortened (a posting cut short is cancelled, or evaluated early). The closing evaluation rates
the worker and says goal by goal whether each was met, in the order the goals were set; it
closes the secondment, as a cancellation does, and nothing is recorded on it afterwards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.personal import mask_name
from wangge.governance.redaction import redact
from wangge.training.domain.sessions import (
    SERVICE,
    InvalidTraining,
    WrongState,
    sealed,
    sealed_field,
)

MAX_DAYS = 366
"""The longest period, both ends counted: a longer posting is a transfer, not a secondment."""
MAX_GOALS = 20


class HostKind(StrEnum):
    SERVICE_HALL = "service_hall"
    DEPARTMENT = "department"
    COMMUNITY = "community"
    OTHER = "other"


class Rating(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    SATISFACTORY = "satisfactory"
    UNSATISFACTORY = "unsatisfactory"


Goal = Annotated[str, Field(min_length=1, max_length=300)]


def stream_id(secondment_id: uuid.UUID) -> str:
    """The stream of a secondment."""
    return f"secondment-{secondment_id}"


@default_catalogue.event(SERVICE)
class SecondmentArranged(DomainEvent):
    """A worker is to spend a period with a host, under a mentor there, towards its goals."""

    secondment_id: uuid.UUID
    worker_id: uuid.UUID
    host_kind: HostKind
    host: str = Field(min_length=1, max_length=200, description="the host's name")
    starts_on: date
    ends_on: date = Field(description="the last day of the secondment")
    mentor: str = Field(min_length=1, max_length=100, description="the mentor's name, masked")
    goals: list[Goal] = Field(min_length=1, max_length=MAX_GOALS)
    sealed: Sealed | None = sealed_field()
    """``mentor`` and ``goals`` (the worker's key)."""


@default_catalogue.event(SERVICE)
class SecondmentExtended(DomainEvent):
    """The secondment ends later than arranged."""

    secondment_id: uuid.UUID
    ends_on: date
    reason: str = Field(min_length=1, max_length=500)
    sealed: Sealed | None = sealed_field()
    """``reason`` (the worker's key)."""


@default_catalogue.event(SERVICE)
class SecondmentEvaluated(DomainEvent):
    """The closing evaluation: a rating, and for each goal in order whether it was met."""

    secondment_id: uuid.UUID
    evaluated_on: date
    rating: Rating
    goals_met: list[bool] = Field(min_length=1, max_length=MAX_GOALS)
    summary: str = Field(min_length=1, max_length=2000)
    by: str = Field(min_length=1, max_length=100, description="the evaluator's account")
    sealed: Sealed | None = sealed_field()
    """``summary`` (the worker's key)."""


@default_catalogue.event(SERVICE)
class SecondmentCancelled(DomainEvent):
    secondment_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=500)
    sealed: Sealed | None = sealed_field()
    """``reason`` (the worker's key)."""


@dataclass(frozen=True)
class Secondment:
    """A secondment's state: what its decisions need."""

    secondment_id: uuid.UUID
    worker_id: uuid.UUID
    starts_on: date
    ends_on: date
    goals: tuple[str, ...]
    evaluated: bool = False
    cancelled: bool = False

    @property
    def closed(self) -> bool:
        return self.evaluated or self.cancelled


def period_days(starts_on: date, ends_on: date) -> int:
    """The days of a period, its first and last day included."""
    return (ends_on - starts_on).days + 1


def evolve(state: Secondment | None, event: DomainEvent, version: int) -> Secondment:
    if isinstance(event, SecondmentArranged):
        return Secondment(
            event.secondment_id, event.worker_id, event.starts_on, event.ends_on,
            tuple(event.goals),
        )  # fmt: skip
    if state is None:
        raise ValueError(f"a secondment starts with SecondmentArranged, not {event!r}")
    if isinstance(event, SecondmentExtended):
        return replace(state, ends_on=event.ends_on)
    if isinstance(event, SecondmentEvaluated):
        return replace(state, evaluated=True)
    if isinstance(event, SecondmentCancelled):
        return replace(state, cancelled=True)
    return state


def _check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise InvalidTraining("a secondment ends on or after the day it starts", field="ends_on")
    if period_days(starts_on, ends_on) > MAX_DAYS:
        raise InvalidTraining(f"a secondment lasts at most {MAX_DAYS} days", field="ends_on")


def arrange(
    *,
    secondment_id: uuid.UUID,
    worker_id: uuid.UUID,
    host_kind: HostKind,
    host: str,
    starts_on: date,
    ends_on: date,
    mentor: str,
    goals: list[str],
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """A secondment; the mentor's name and the goals sealed with the worker's key (``seal``),
    masked and redacted in clear."""
    _check_period(starts_on, ends_on)
    if any(not goal.strip() for goal in goals):
        raise InvalidTraining("a goal says what the worker is to learn", field="goals")
    if len(set(goals)) != len(goals):
        # the evaluation marks the goals by position: two alike could not be told apart
        raise InvalidTraining("each goal is set once", field="goals")
    return [
        SecondmentArranged(
            secondment_id=secondment_id, worker_id=worker_id, host_kind=host_kind,
            host=redact(host), starts_on=starts_on, ends_on=ends_on, mentor=mask_name(mentor),
            goals=[redact(goal, names=[mentor]) for goal in goals],
            sealed=sealed(seal, mentor=mentor, goals=goals),
        )
    ]  # fmt: skip


def _open(secondment: Secondment) -> None:
    if secondment.evaluated:
        raise WrongState("the secondment was evaluated: it is closed", field="secondment_id")
    if secondment.cancelled:
        raise WrongState("the secondment was cancelled", field="secondment_id")


def extend(
    secondment: Secondment, *, ends_on: date, reason: str, seal: Seal | None = None
) -> list[DomainEvent]:
    """A later last day; the period as a whole stays within :data:`MAX_DAYS`. The reason is
    sealed with the worker's key, redacted in clear."""
    _open(secondment)
    if ends_on <= secondment.ends_on:
        raise InvalidTraining(
            f"an extension ends after the secondment's last day, {secondment.ends_on}",
            field="ends_on",
        )
    _check_period(secondment.starts_on, ends_on)
    return [
        SecondmentExtended(
            secondment_id=secondment.secondment_id, ends_on=ends_on, reason=redact(reason),
            sealed=sealed(seal, reason=reason),
        )
    ]  # fmt: skip


def evaluate(
    secondment: Secondment,
    *,
    evaluated_on: date,
    rating: Rating,
    goals_met: list[bool],
    summary: str,
    by: str,
    today: date,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """The closing evaluation, given once the secondment has started (early, if it ends early)
    and recorded on or after the day it was given; its summary sealed with the worker's key,
    redacted in clear."""
    _open(secondment)
    if today < secondment.starts_on:
        raise WrongState(
            f"the secondment starts on {secondment.starts_on}: it is evaluated once started",
            field="secondment_id",
        )
    if evaluated_on < secondment.starts_on:
        raise InvalidTraining(
            "an evaluation is given on or after the secondment's first day", field="evaluated_on"
        )
    if evaluated_on > today:
        raise InvalidTraining("an evaluation is recorded once it was given", field="evaluated_on")
    if len(goals_met) != len(secondment.goals):
        raise InvalidTraining(
            f"the evaluation says for each of the {len(secondment.goals)} goals whether it was met",
            field="goals_met",
        )
    if not summary.strip():
        raise InvalidTraining("an evaluation is summed up in words", field="summary")
    return [
        SecondmentEvaluated(
            secondment_id=secondment.secondment_id, evaluated_on=evaluated_on, rating=rating,
            goals_met=goals_met, summary=redact(summary), by=by,
            sealed=sealed(seal, summary=summary),
        )
    ]  # fmt: skip


def cancel(secondment: Secondment, *, reason: str, seal: Seal | None = None) -> list[DomainEvent]:
    """Called off, at any time before its evaluation (a worker needed back on their grid); the
    reason sealed with the worker's key, redacted in clear."""
    _open(secondment)
    return [
        SecondmentCancelled(
            secondment_id=secondment.secondment_id, reason=redact(reason),
            sealed=sealed(seal, reason=reason),
        )
    ]  # fmt: skip
