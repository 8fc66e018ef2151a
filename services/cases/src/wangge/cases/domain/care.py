"""Care plans (关爱帮扶): recurring visits to a resident who needs them, e.g. a weekly
blood-pressure check for an elderly person living alone.

Which visits are due and which were missed is never recorded: it follows from the plan's start,
its cadence and the visits recorded (a visit anywhere in a period counts for that period), by
``schedule``, the governance kernel's rule, which the views service counts by as well.
Measurements are health data (PIPL: sensitive), sealed with the plan's own data key, as is the
plan's free text (its note, visits' notes, why it ended), kept in clear only as redacted copies.
Erasing the plan's data destroys that key.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import Field

from wangge.cases.domain.cases import SERVICE, InvalidCase, WrongStatus
from wangge.cases.domain.text import written
from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.care_schedule import Schedule as Schedule
from wangge.governance.care_schedule import schedule as schedule
from wangge.governance.erasure import ErasureGround

TEXT = "the free text in full, sealed with the plan's key; the fields hold redacted copies"


class CareKind(StrEnum):
    """What the visits are for."""

    HEALTH_CHECK = "health_check"
    COMPANIONSHIP = "companionship"
    CONDOLENCE = "condolence"
    EDUCATION_SUPPORT = "education_support"
    AID = "aid"


def stream_id(plan_id: uuid.UUID) -> str:
    """The stream of a care plan."""
    return f"careplan-{plan_id}"


@default_catalogue.event(SERVICE)
class CarePlanStarted(DomainEvent):
    """A resident gets recurring visits."""

    plan_id: uuid.UUID
    resident: str = Field(description="the resident's pseudonymous id")
    resident_masked: str = Field(description="for the worker's list: 李**")
    grid_id: uuid.UUID
    kind: CareKind
    every_days: int = Field(ge=1, le=366, description="the cadence: 7 is weekly")
    worker_account: str = Field(description="the responsible worker's token subject")
    starts_on: date
    note: str = Field(default="", max_length=1000)
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class CareVisitRecorded(DomainEvent):
    """A visit was made."""

    plan_id: uuid.UUID
    visit_id: uuid.UUID
    visited_on: date
    by: str = Field(description="who visited (account)")
    note: str = Field(default="", max_length=2000)
    measurements: Sealed | None = Field(
        default=None, description="health measurements, sealed (e.g. systolic, diastolic)"
    )
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class CarePlanEnded(DomainEvent):
    """No more visits (moved away, recovered, passed away...)."""

    plan_id: uuid.UUID
    ended_on: date
    reason: str = Field(min_length=1, max_length=500)
    sealed_text: Sealed | None = Field(default=None, description=TEXT)


@default_catalogue.event(SERVICE)
class CarePlanDataErased(DomainEvent):
    """The plan's personal data was erased (crypto-shredding): its key, which sealed the
    measurements and the free text, was destroyed; visits, dates and redacted copies stay. The
    envelope says who asked."""

    plan_id: uuid.UUID
    legal_ground: ErasureGround


@dataclass(frozen=True)
class Plan:
    """A plan's state."""

    plan_id: uuid.UUID
    starts_on: date
    every_days: int
    visits: frozenset[date] = frozenset()
    ended_on: date | None = None
    erased: bool = False


def evolve(state: Plan | None, event: DomainEvent, version: int) -> Plan:
    if isinstance(event, CarePlanStarted):
        return Plan(event.plan_id, event.starts_on, event.every_days)
    if state is None:
        raise ValueError(f"a care plan starts with CarePlanStarted, not {type(event).__name__}")
    if isinstance(event, CareVisitRecorded):
        return replace(state, visits=state.visits | {event.visited_on})
    if isinstance(event, CarePlanEnded):
        return replace(state, ended_on=event.ended_on)
    if isinstance(event, CarePlanDataErased):
        return replace(state, erased=True)
    return state


def start(
    *,
    plan_id: uuid.UUID,
    resident: str,
    resident_masked: str,
    grid_id: uuid.UUID,
    kind: CareKind,
    every_days: int,
    worker_account: str,
    starts_on: date,
    note: str,
    seal: Seal,
) -> list[DomainEvent]:
    """A new plan, its note sealed with the plan's new key."""
    return [
        CarePlanStarted(
            plan_id=plan_id, resident=resident, resident_masked=resident_masked, grid_id=grid_id,
            kind=kind, every_days=every_days, worker_account=worker_account, starts_on=starts_on,
            **written(CarePlanStarted, seal, note=note),
        )
    ]  # fmt: skip


def record_visit(
    plan: Plan,
    *,
    visit_id: uuid.UUID,
    visited_on: date,
    today: date,
    by: str,
    note: str,
    measurements: Mapping[str, Any] | None,
    seal: Seal | None,
) -> list[DomainEvent]:
    """A visit, its measurements and note sealed with the plan's key (``seal``; None once it was
    erased: no measurement is recorded then, since none could be kept sealed)."""
    if measurements and seal is None:
        raise WrongStatus(
            "the plan's personal data was erased: no measurements are recorded on it",
            field="measurements",
        )
    if plan.ended_on is not None:
        raise WrongStatus("the plan has ended", field="plan_id")
    if visited_on > today:
        raise InvalidCase("a visit is recorded once it was made", field="visited_on")
    if visited_on < plan.starts_on:
        raise InvalidCase("the visit is before the plan started", field="visited_on")
    return [
        CareVisitRecorded(
            plan_id=plan.plan_id, visit_id=visit_id, visited_on=visited_on, by=by,
            measurements=seal(measurements) if measurements and seal is not None else None,
            **written(CareVisitRecorded, seal, note=note),
        )
    ]  # fmt: skip


def end(plan: Plan, *, ended_on: date, reason: str, seal: Seal | None) -> list[DomainEvent]:
    if plan.ended_on is not None:
        raise WrongStatus("the plan has ended already", field="plan_id")
    if ended_on < plan.starts_on:
        raise InvalidCase("a plan ends after it starts", field="ended_on")
    text = written(CarePlanEnded, seal, reason=reason)
    return [CarePlanEnded(plan_id=plan.plan_id, ended_on=ended_on, **text)]


def erase(plan: Plan, *, ground: ErasureGround) -> list[DomainEvent]:
    """Erase the plan's personal data, whether it runs or ended (nothing when erased already)."""
    if plan.erased:
        return []
    return [CarePlanDataErased(plan_id=plan.plan_id, legal_ground=ground)]
