"""Door-to-door visits (走访, 入户): what a grid worker checked and found at a dwelling.

A visit's stream is ``visit-<uuid>``. Each need noted on a visit is an event of its own,
``NeedNoted``, which other services act on (the cases service opens care plans and cases).

A visit's note and its needs' descriptions are about the household visited: they are sealed
under a data key of the visit (``note_sealed``, ``description_sealed``), and ``note`` and
``description`` carry their redacted copies, which work lists and other services read. One key
per visit, not per member: a sentence cannot be told to be about one member rather than
another, so any member's erasure destroys it (the redacted copies stay). Events written before
this carry the text as written in ``note`` and ``description``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.errors import DomainError
from wangge.registry.domain.free_text import clear_copy, seal_text


class Document(StrEnum):
    """Documents a grid worker checks at the door."""

    HOUSEHOLD_REGISTER = "household_register"
    ID_CARD = "id_card"
    RESIDENCE_PERMIT = "residence_permit"
    PROPERTY_CERTIFICATE = "property_certificate"
    LEASE = "lease"


class NeedCategory(StrEnum):
    """What kind of help a need asks for."""

    ELDERLY_CARE = "elderly_care"
    MEDICAL = "medical"
    DISABILITY = "disability"
    EMPLOYMENT = "employment"
    HOUSING = "housing"
    EDUCATION = "education"
    FINANCIAL_AID = "financial_aid"
    DISPUTE = "dispute"
    SAFETY_HAZARD = "safety_hazard"
    ENVIRONMENT = "environment"
    PSYCHOLOGICAL = "psychological"
    OTHER = "other"


@default_catalogue.event("registry")
class VisitRecorded(DomainEvent):
    """A grid worker visited a dwelling and recorded what they checked."""

    visit_id: uuid.UUID
    worker_account: str = Field(description="the visiting worker's account (tokens' subject)")
    dwelling_id: uuid.UUID
    household_id: uuid.UUID | None = None
    visited_at: AwareDatetime
    documents_checked: list[Document] = Field(default_factory=list)
    persons_confirmed: list[uuid.UUID] = Field(default_factory=list)
    persons_added: list[uuid.UUID] = Field(default_factory=list)
    persons_corrected: list[uuid.UUID] = Field(default_factory=list)
    note: str | None = Field(
        default=None, max_length=2000,
        description="the redacted copy (as written in events from before notes were sealed)",
    )  # fmt: skip
    note_sealed: Sealed | None = Field(
        default=None, description='{"text": the note}, sealed under the visit key'
    )


@default_catalogue.event("registry")
class NeedNoted(DomainEvent):
    """A need was noted on a visit; other services act on it."""

    visit_id: uuid.UUID
    need_id: uuid.UUID
    dwelling_id: uuid.UUID
    household_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    category: NeedCategory
    description: str = Field(
        min_length=1, max_length=2000,
        description="the redacted copy (as written in events from before it was sealed)",
    )  # fmt: skip
    description_sealed: Sealed | None = Field(
        default=None, description='{"text": the description}, sealed under the visit key'
    )


class InvalidVisit(DomainError):
    """The visit breaks a rule."""

    slug = "invalid-visit"
    title = "The visit breaks a rule"


@dataclass(frozen=True)
class Need:
    """A need as the visitor typed it."""

    category: NeedCategory
    description: str
    person_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Visit:
    """A visit as its events left it."""

    visit_id: uuid.UUID
    dwelling_id: uuid.UUID
    version: int


def stream_id(visit_id: uuid.UUID) -> str:
    """The visit's stream."""
    return f"visit-{visit_id}"


def evolve(state: Visit | None, event: DomainEvent, version: int) -> Visit:
    """The visit after one more of its events."""
    if isinstance(event, VisitRecorded):
        return Visit(event.visit_id, event.dwelling_id, version)
    if state is None:
        raise ValueError(f"{type(event).__name__} before VisitRecorded")
    if isinstance(event, NeedNoted):
        return Visit(state.visit_id, state.dwelling_id, version)
    raise ValueError(f"a visit has no event {type(event).__name__}")


def record(
    *,
    visit_id: uuid.UUID,
    worker_account: str,
    dwelling_id: uuid.UUID,
    household_id: uuid.UUID | None,
    visited_at: datetime,
    now: datetime,
    documents_checked: list[Document],
    persons_confirmed: list[uuid.UUID],
    persons_added: list[uuid.UUID],
    persons_corrected: list[uuid.UUID],
    note: str | None,
    needs: list[Need],
    household_members: frozenset[uuid.UUID] | None = None,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """Decide a visit and its needs; a visit cannot lie in the future. Free text is sealed with
    ``seal`` (under the visit's key), and its redacted copy is in clear."""
    if visited_at > now:
        raise InvalidVisit("a visit is recorded after it happened", field="visited_at")
    seen = [*persons_confirmed, *persons_added, *persons_corrected]
    if len(set(seen)) != len(seen):
        raise InvalidVisit("a person is confirmed, added or corrected, once", field="persons")
    known = (household_members or frozenset()) | set(seen)
    for index, need in enumerate(needs):
        outsider = need.person_id is not None and need.person_id not in known
        if outsider and household_members is not None:
            raise InvalidVisit(
                "the person of a need lives in the visited household",
                field=f"needs/{index}/person_id",
            )
    events: list[DomainEvent] = [
        VisitRecorded(
            visit_id=visit_id, worker_account=worker_account, dwelling_id=dwelling_id,
            household_id=household_id, visited_at=visited_at,
            documents_checked=documents_checked, persons_confirmed=persons_confirmed,
            persons_added=persons_added, persons_corrected=persons_corrected,
            note=clear_copy(note, 2000) if note else None,
            note_sealed=_sealed(seal, note) if note else None,
        )
    ]  # fmt: skip
    events += [
        NeedNoted(
            visit_id=visit_id, need_id=uuid.uuid4(), dwelling_id=dwelling_id,
            household_id=household_id, person_id=need.person_id, category=need.category,
            description=clear_copy(need.description, 2000),
            description_sealed=_sealed(seal, need.description),
        )
        for need in needs
    ]  # fmt: skip
    return events


def _sealed(seal: Seal | None, text: str) -> Sealed:
    if seal is None:
        raise ValueError("a visit's free text is sealed under its key: the handler gives one")
    return seal_text(seal, text)
