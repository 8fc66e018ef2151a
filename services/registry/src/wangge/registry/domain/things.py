"""Things (人地事物组织 — 物): key facilities (重点设施) and hazard points (安全隐患点) at a place.

Each thing is a stream of its own (``thing-<uuid>``). A key facility (a petrol station, a gas
main) is inspected for as long as it stands; a hazard point (a blocked fire lane, a flying lead)
also carries a risk level, which each inspection may reassess, until it is resolved. A thing
resolved or removed stays on record, with its inspections, and is not inspected again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from pydantic import Field

from wangge.events import DomainEvent, default_catalogue
from wangge.governance.errors import DomainError
from wangge.registry.domain.free_text import clear_copy
from wangge.registry.domain.organisations import Organisation
from wangge.registry.domain.places import Place, PlaceKind


class ThingKind(StrEnum):
    """重点设施 key facility or 安全隐患点 hazard point."""

    KEY_FACILITY = "key_facility"
    HAZARD_POINT = "hazard_point"


class RiskLevel(StrEnum):
    """How dangerous a hazard point is judged to be."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ThingStatus(StrEnum):
    """Open while it stands (or, for a hazard, until resolved); resolved; removed."""

    OPEN = "open"
    RESOLVED = "resolved"
    REMOVED = "removed"


SITES = frozenset({PlaceKind.GRID, PlaceKind.BUILDING, PlaceKind.UNIT, PlaceKind.DWELLING})
"""The levels of the place tree a thing is at (a fire lane in a stairwell: a unit)."""


# -- events ---------------------------------------------------------------------------------------

_REDACTED = (
    "free text about the thing, phone numbers and the like masked (redacted): it has no data "
    "subject with a key, so only the redacted copy is kept"
)


@default_catalogue.event("registry")
class ThingRegistered(DomainEvent):
    """A key facility or hazard point was entered in the register at a place."""

    thing_id: uuid.UUID
    kind: ThingKind
    category: str = Field(
        min_length=1, max_length=100, description="e.g. 加油站, 燃气管道, 消防通道占用"
    )
    name: str = Field(min_length=1, max_length=200)
    place_id: uuid.UUID
    responsible_organisation_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=2000, description=_REDACTED)
    risk_level: RiskLevel | None = Field(default=None, description="hazard points only")


@default_catalogue.event("registry")
class ThingInspected(DomainEvent):
    """A thing was inspected on a date; a hazard point's risk may be reassessed."""

    thing_id: uuid.UUID
    on: date
    finding: str = Field(min_length=1, max_length=2000, description=_REDACTED)
    risk_level: RiskLevel | None = Field(default=None, description="hazard points only")


@default_catalogue.event("registry")
class HazardResolved(DomainEvent):
    """A hazard point was dealt with on a date (整改完成)."""

    thing_id: uuid.UUID
    on: date
    how: str = Field(min_length=1, max_length=2000, description=_REDACTED)


@default_catalogue.event("registry")
class ThingRemoved(DomainEvent):
    """A thing is gone (demolished, moved away, entered by mistake) from a date."""

    thing_id: uuid.UUID
    on: date
    reason: str = Field(min_length=1, max_length=500, description=_REDACTED)


ThingEvent = ThingRegistered | ThingInspected | HazardResolved | ThingRemoved


# -- errors ---------------------------------------------------------------------------------------


class InvalidThing(DomainError):
    """The command breaks a rule about key facilities or hazard points."""

    slug = "invalid-thing"
    title = "The command breaks a rule about key facilities or hazard points"


# -- state and decisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Thing:
    """A thing as its events left it."""

    thing_id: uuid.UUID
    kind: ThingKind
    category: str
    name: str
    place_id: uuid.UUID
    responsible_organisation_id: uuid.UUID | None
    risk_level: RiskLevel | None
    version: int
    status: ThingStatus = ThingStatus.OPEN
    last_inspected_on: date | None = None


def stream_id(thing_id: uuid.UUID) -> str:
    """The thing's stream."""
    return f"thing-{thing_id}"


def evolve(state: Thing | None, event: DomainEvent, version: int) -> Thing:
    """The thing after one more of its events."""
    if isinstance(event, ThingRegistered):
        return Thing(
            event.thing_id,
            ThingKind(event.kind),
            event.category,
            event.name,
            event.place_id,
            event.responsible_organisation_id,
            RiskLevel(event.risk_level) if event.risk_level is not None else None,
            version,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before ThingRegistered")
    state = replace(state, version=version)
    if isinstance(event, ThingInspected):
        last = max(event.on, state.last_inspected_on or event.on)
        if event.risk_level is None:
            return replace(state, last_inspected_on=last)
        return replace(state, last_inspected_on=last, risk_level=RiskLevel(event.risk_level))
    if isinstance(event, HazardResolved):
        return replace(state, status=ThingStatus.RESOLVED)
    if isinstance(event, ThingRemoved):
        return replace(state, status=ThingStatus.REMOVED)
    raise ValueError(f"a thing has no event {type(event).__name__}")


def _text(text: str, field: str) -> str:
    if not text.strip():
        raise InvalidThing(f"the {field} cannot be blank", field=field)
    return text.strip()


def _risk_for(kind: ThingKind, risk_level: RiskLevel | None) -> None:
    if risk_level is not None and kind != ThingKind.HAZARD_POINT:
        raise InvalidThing("only a hazard point has a risk level", field="risk_level")


def _open(thing: Thing) -> None:
    if thing.status != ThingStatus.OPEN:
        raise InvalidThing(f"the {thing.kind} is {thing.status}", field="thing_id")


def register(
    *,
    thing_id: uuid.UUID,
    kind: ThingKind,
    category: str,
    name: str,
    place: Place,
    responsible: Organisation | None = None,
    description: str | None = None,
    risk_level: RiskLevel | None = None,
) -> list[ThingEvent]:
    """Decide the registration of a key facility or hazard point at ``place``."""
    if place.kind not in SITES:
        raise InvalidThing(
            f"a thing is at a grid, building, unit or dwelling, not a {place.kind}",
            field="place_id",
        )
    if responsible is not None and responsible.closed:
        raise InvalidThing(
            f"the organisation closed on {responsible.closed_on}",
            field="responsible_organisation_id",
        )
    _risk_for(kind, risk_level)
    return [
        ThingRegistered(
            thing_id=thing_id,
            kind=kind,
            category=_text(category, "category"),
            name=_text(name, "name"),
            place_id=place.place_id,
            responsible_organisation_id=responsible.organisation_id if responsible else None,
            description=(_copy(description, 2000) or None) if description is not None else None,
            risk_level=risk_level,
        )
    ]


def inspect(
    thing: Thing, *, on: date, finding: str, risk_level: RiskLevel | None = None
) -> list[ThingEvent]:
    """Decide recording an inspection (巡查) of a thing that still stands."""
    _open(thing)
    _risk_for(thing.kind, risk_level)
    return [
        ThingInspected(
            thing_id=thing.thing_id,
            on=on,
            finding=_copy(_text(finding, "finding"), 2000),
            risk_level=risk_level,
        )
    ]


def resolve(hazard: Thing, *, on: date, how: str) -> list[ThingEvent]:
    """Decide that a hazard point was dealt with."""
    if hazard.kind != ThingKind.HAZARD_POINT:
        raise InvalidThing(
            f"only a hazard point is resolved, not a {hazard.kind}", field="thing_id"
        )
    _open(hazard)
    return [HazardResolved(thing_id=hazard.thing_id, on=on, how=_copy(_text(how, "how"), 2000))]


def remove(thing: Thing, *, on: date, reason: str) -> list[ThingEvent]:
    """Decide that a thing is gone (a resolved hazard point may be removed too)."""
    if thing.status == ThingStatus.REMOVED:
        raise InvalidThing(f"the {thing.kind} is removed already", field="thing_id")
    return [
        ThingRemoved(thing_id=thing.thing_id, on=on, reason=_copy(_text(reason, "reason"), 500))
    ]


def _copy(text: str, limit: int) -> str:
    """What is kept of free text about a thing: its redacted copy."""
    return clear_copy(text.strip(), limit)
