"""Households (户): a family or collective household at a dwelling, its head and members.

A household's stream is ``household-<uuid>``. Joining and leaving carry the date they took effect
(valid time); the event's own time is when the register learnt it (recorded time), so "who lived
in this household on date D, as we knew it at time T" has an answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from pydantic import Field

from wangge.events import DomainEvent, default_catalogue
from wangge.governance.errors import DomainError
from wangge.registry.domain.free_text import clear_copy


class HouseholdType(StrEnum):
    """家庭户 family or 集体户 collective (a dormitory, a care home)."""

    FAMILY = "family"
    COLLECTIVE = "collective"


class Relationship(StrEnum):
    """Relationship to the head of household (与户主关系)."""

    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    CHILD_IN_LAW = "child_in_law"
    GRANDCHILD = "grandchild"
    PARENT = "parent"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    OTHER = "other"
    COLLECTIVE_MEMBER = "collective_member"


@default_catalogue.event("registry")
class HouseholdRegistered(DomainEvent):
    """A household was entered at a dwelling, with its head."""

    household_id: uuid.UUID
    number: str = Field(min_length=1, max_length=40, description="户号")
    type: HouseholdType
    dwelling_id: uuid.UUID
    head_person_id: uuid.UUID
    on: date


@default_catalogue.event("registry")
class HouseholdMemberJoined(DomainEvent):
    """A person joined a household on a date."""

    household_id: uuid.UUID
    person_id: uuid.UUID
    relationship: Relationship
    on: date


@default_catalogue.event("registry")
class HouseholdMemberLeft(DomainEvent):
    """A person left a household on a date (moved out, married out, died)."""

    household_id: uuid.UUID
    person_id: uuid.UUID
    on: date
    reason: str = Field(
        min_length=1, max_length=200, description="phone numbers and the like masked (redacted)"
    )


@default_catalogue.event("registry")
class HouseholdHeadChanged(DomainEvent):
    """Another member became head of household; the former head's relationship is restated."""

    household_id: uuid.UUID
    head_person_id: uuid.UUID
    former_head_relationship: Relationship | None = Field(
        default=None, description="none when the former head has left"
    )
    on: date


class InvalidHousehold(DomainError):
    """The command breaks a rule about households."""

    slug = "invalid-household"
    title = "The command breaks a rule about households"


@dataclass(frozen=True)
class Household:
    """A household as its events left it."""

    household_id: uuid.UUID
    number: str
    type: HouseholdType
    dwelling_id: uuid.UUID
    head_person_id: uuid.UUID
    version: int
    members: Mapping[uuid.UUID, Relationship] = field(default_factory=dict)


def stream_id(household_id: uuid.UUID) -> str:
    """The household's stream."""
    return f"household-{household_id}"


def evolve(state: Household | None, event: DomainEvent, version: int) -> Household:
    """The household after one more of its events."""
    if isinstance(event, HouseholdRegistered):
        return Household(
            event.household_id,
            event.number,
            HouseholdType(event.type),
            event.dwelling_id,
            event.head_person_id,
            version,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before HouseholdRegistered")
    state = replace(state, version=version)
    if isinstance(event, HouseholdMemberJoined):
        return replace(
            state, members={**state.members, event.person_id: Relationship(event.relationship)}
        )
    if isinstance(event, HouseholdMemberLeft):
        return replace(
            state, members={p: r for p, r in state.members.items() if p != event.person_id}
        )
    if isinstance(event, HouseholdHeadChanged):
        members = dict(state.members)
        if event.former_head_relationship is not None and state.head_person_id in members:
            members[state.head_person_id] = Relationship(event.former_head_relationship)
        members[event.head_person_id] = Relationship.HEAD
        return replace(state, head_person_id=event.head_person_id, members=members)
    raise ValueError(f"a household has no event {type(event).__name__}")


def register(
    *,
    household_id: uuid.UUID,
    number: str,
    type: HouseholdType,
    dwelling_id: uuid.UUID,
    head_person_id: uuid.UUID,
    on: date,
) -> list[DomainEvent]:
    """Decide a new household; its head is its first member."""
    return [
        HouseholdRegistered(
            household_id=household_id, number=number, type=type, dwelling_id=dwelling_id,
            head_person_id=head_person_id, on=on,
        ),
        HouseholdMemberJoined(
            household_id=household_id, person_id=head_person_id, relationship=Relationship.HEAD,
            on=on,
        ),
    ]  # fmt: skip


def join(
    household: Household, *, person_id: uuid.UUID, relationship: Relationship, on: date
) -> list[DomainEvent]:
    """Decide a person joining the household."""
    if person_id in household.members:
        return []
    if relationship == Relationship.HEAD:
        raise InvalidHousehold(
            "a household has one head: join as a member, then change the head",
            field="relationship",
        )
    if (relationship == Relationship.COLLECTIVE_MEMBER) != (
        household.type == HouseholdType.COLLECTIVE
    ):
        raise InvalidHousehold(
            "collective households have collective members, and only they do",
            field="relationship",
        )
    return [
        HouseholdMemberJoined(
            household_id=household.household_id, person_id=person_id, relationship=relationship,
            on=on,
        )
    ]  # fmt: skip


def leave(
    household: Household, *, person_id: uuid.UUID, on: date, reason: str
) -> list[DomainEvent]:
    """Decide a member leaving; the head leaves only after another member took over."""
    if person_id not in household.members:
        raise InvalidHousehold("the person is no member of this household", field="person_id")
    if person_id == household.head_person_id and len(household.members) > 1:
        raise InvalidHousehold(
            "the head leaves after another member becomes head", field="person_id"
        )
    return [
        HouseholdMemberLeft(
            household_id=household.household_id,
            person_id=person_id,
            on=on,
            reason=clear_copy(reason, 200),
        )
    ]


def change_head(
    household: Household,
    *,
    person_id: uuid.UUID,
    former_head_relationship: Relationship | None,
    on: date,
) -> list[DomainEvent]:
    """Decide a new head of household, chosen among the members."""
    if person_id not in household.members:
        raise InvalidHousehold("the new head must be a member", field="person_id")
    if person_id == household.head_person_id:
        return []
    if former_head_relationship == Relationship.HEAD:
        raise InvalidHousehold("there is one head", field="former_head_relationship")
    still_member = household.head_person_id in household.members
    if still_member and former_head_relationship is None:
        raise InvalidHousehold(
            "say how the former head relates to the new one", field="former_head_relationship"
        )
    return [
        HouseholdHeadChanged(
            household_id=household.household_id,
            head_person_id=person_id,
            former_head_relationship=former_head_relationship if still_member else None,
            on=on,
        )
    ]
