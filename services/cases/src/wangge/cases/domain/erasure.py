"""Following the registry's erasure of a resident (DESIGN §6: every service that seals can erase).

The registry's ``PersonalDataErased`` is a fact: the cases service destroys what it sealed about
that resident (the keys of their care plans, and the text keys of every case they are a party
to or concerned by, whose free text may be about them), shows them as erased, and records what
it shredded as a fact of its own on the stream ``resident-<person_id>``: the audit. Like every
reaction to another service's fact it never refuses, and a redelivery changes nothing.
"""

from __future__ import annotations

import uuid

from pydantic import Field

from wangge.cases.domain.cases import SERVICE
from wangge.events import DomainEvent, default_catalogue


def stream_id(person_id: uuid.UUID) -> str:
    """The stream of what the cases service erased about a resident."""
    return f"resident-{person_id}"


@default_catalogue.event(SERVICE)
class ResidentDataErased(DomainEvent):
    """The registry erased a resident's personal data, and this service followed: the keys of
    these care plans and the text keys of these cases were destroyed (their redacted copies
    stay), and the resident is shown as erased."""

    person_id: uuid.UUID
    legal_ground: str = Field(
        max_length=100, description="the ground the registry recorded (PIPL art. 47)"
    )
    care_plans: list[uuid.UUID] = Field(description="whose keys were destroyed")
    cases: list[uuid.UUID] = Field(description="whose text keys were destroyed")


def evolve(state: bool | None, event: DomainEvent, version: int) -> bool:
    """Whether the resident's erasure was followed."""
    return True


def follow(
    followed: bool | None,
    *,
    person_id: uuid.UUID,
    legal_ground: str,
    care_plans: list[uuid.UUID],
    cases: list[uuid.UUID],
) -> list[DomainEvent]:
    """The record of the erasure followed, once (the registry erases a person once; a second
    fact finds the keys destroyed already)."""
    if followed:
        return []
    return [
        ResidentDataErased(
            person_id=person_id, legal_ground=legal_ground[:100], care_plans=sorted(care_plans),
            cases=sorted(cases),
        )
    ]  # fmt: skip
