"""Following the registry's erasure of a resident (DESIGN §6: every service that seals can erase).

The registry's ``PersonalDataErased`` is a fact: the cases service destroys what it sealed about
that resident (the keys of their care plans, and the text keys of every case they are a party
to or concerned by, whose free text may be about them), shows them as erased, and records what
it shredded as a fact of its own on the stream ``resident-<person_id>``: the audit. Like every
reaction to another service's fact it never refuses, and a redelivery changes nothing.

The erasure reaches the rows naming a record merged into the resident as well (the same human).
A merge that arrives after the erasure was followed (the two persons' streams may come on
different partitions) reaches the duplicate's rows then, recorded on the same stream. Undoing a
merge later restores how rows are shown, never a destroyed key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Followed:
    """The registry's erasure of the resident was followed, on this ground; these keys were
    destroyed for it."""

    legal_ground: str
    care_plans: frozenset[uuid.UUID] = frozenset()
    cases: frozenset[uuid.UUID] = frozenset()


def evolve(state: Followed | None, event: DomainEvent, version: int) -> Followed:
    """Whether the resident's erasure was followed, on which ground, and what it destroyed."""
    if not isinstance(event, ResidentDataErased):
        return state or Followed("")
    if state is None:
        state = Followed(event.legal_ground)
    return Followed(
        state.legal_ground, state.care_plans | set(event.care_plans), state.cases | set(event.cases)
    )


def follow(
    followed: Followed | None,
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


def reach_merged(
    followed: Followed | None,
    *,
    person_id: uuid.UUID,
    care_plans: list[uuid.UUID],
    cases: list[uuid.UUID],
) -> list[DomainEvent]:
    """The record of an erasure followed earlier reaching a record merged into the resident
    since: what was destroyed for it, on the first erasure's ground. Nothing if the resident
    was not erased (their erasure, when it comes, finds the merged record), or if nothing new
    was destroyed."""
    if not followed:
        return []
    plans = sorted(set(care_plans) - followed.care_plans)
    more = sorted(set(cases) - followed.cases)
    if not (plans or more):
        return []
    return follow(
        None, person_id=person_id, legal_ground=followed.legal_ground, care_plans=plans,
        cases=more,
    )  # fmt: skip
