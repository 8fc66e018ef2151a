"""Handbooks every grid worker carries (网格记事簿, 全科网格一本通), published in editions of
sections, and acknowledged by each worker as read.

A handbook is a stream of its own (``handbook-<uuid>``), starting with its first edition. The
publisher names the edition it publishes, which must follow the current one: two publishers
who read the same state do not both succeed, and the second learns that an edition came out
meanwhile instead of publishing one unseen. A worker acknowledges the current edition only; a
new edition asks every worker again, since what they read has changed (their acknowledgements
of earlier editions stay in their record).
"""

from __future__ import annotations

import uuid
from collections.abc import Set
from dataclasses import dataclass, replace
from datetime import date

from pydantic import BaseModel, Field

from wangge.events import DomainEvent, default_catalogue
from wangge.governance.redaction import redact
from wangge.training.domain.sessions import SERVICE, InvalidTraining, WrongState


class Section(BaseModel):
    """A section of an edition, as its table of contents shows it (the text is in the book)."""

    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=2000)


def stream_id(handbook_id: uuid.UUID) -> str:
    """The stream of a handbook."""
    return f"handbook-{handbook_id}"


@default_catalogue.event(SERVICE)
class HandbookEditionPublished(DomainEvent):
    """An edition of the handbook (the first one starts its stream); it replaces the one before."""

    handbook_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    edition: int = Field(ge=1)
    published_on: date
    sections: list[Section] = Field(min_length=1, max_length=200)


@default_catalogue.event(SERVICE)
class HandbookAcknowledged(DomainEvent):
    """A worker has read the edition."""

    handbook_id: uuid.UUID
    edition: int = Field(ge=1)
    worker_id: uuid.UUID
    acknowledged_on: date


@dataclass(frozen=True)
class Handbook:
    """A handbook's state: its current edition and who acknowledged that edition."""

    handbook_id: uuid.UUID
    edition: int
    acknowledged: frozenset[uuid.UUID] = frozenset()


def evolve(state: Handbook | None, event: DomainEvent, version: int) -> Handbook:
    if isinstance(event, HandbookEditionPublished):
        return Handbook(event.handbook_id, event.edition)
    if state is None:
        raise ValueError(f"a handbook starts with HandbookEditionPublished, not {event!r}")
    if isinstance(event, HandbookAcknowledged) and event.edition == state.edition:
        return replace(state, acknowledged=state.acknowledged | {event.worker_id})
    return state


def publish(
    handbook: Handbook | None,
    *,
    handbook_id: uuid.UUID,
    title: str,
    edition: int,
    published_on: date,
    sections: list[Section],
) -> list[DomainEvent]:
    """An edition: the first of a new handbook (``handbook`` is None), or the one after the
    current edition."""
    if handbook is not None and handbook.handbook_id != handbook_id:
        raise InvalidTraining("the edition is of another handbook", field="handbook_id")
    expected = 1 if handbook is None else handbook.edition + 1
    if edition != expected:
        raise InvalidTraining(
            f"the edition to publish is edition {expected}"
            + ("" if handbook is None else f" (edition {handbook.edition} is the current one)"),
            field="edition",
        )
    titles = [section.title for section in sections]
    if len(set(titles)) != len(titles):
        raise InvalidTraining("each section has a title of its own", field="sections")
    # a published text, shown to every worker: kept with any number or address in it masked
    return [
        HandbookEditionPublished(
            handbook_id=handbook_id, title=redact(title), edition=edition,
            published_on=published_on,
            sections=[
                Section(title=redact(x.title), summary=redact(x.summary)) for x in sections
            ],
        )
    ]  # fmt: skip


def acknowledge(
    handbook: Handbook, *, edition: int, worker_id: uuid.UUID, acknowledged_on: date
) -> list[DomainEvent]:
    """The worker read the current edition; acknowledging it again changes nothing."""
    if edition < 1 or edition > handbook.edition:
        raise InvalidTraining(f"the handbook has no edition {edition}", field="edition")
    if edition != handbook.edition:
        raise WrongState(
            f"edition {handbook.edition} replaced edition {edition}: it is the one to acknowledge",
            field="edition",
        )
    if worker_id in handbook.acknowledged:
        return []
    return [
        HandbookAcknowledged(
            handbook_id=handbook.handbook_id, edition=edition, worker_id=worker_id,
            acknowledged_on=acknowledged_on,
        )
    ]  # fmt: skip


def owes(current_edition: int, acknowledged_editions: Set[int]) -> bool:
    """Whether a worker still has to acknowledge the handbook: its current edition is not among
    those they acknowledged (no edition published yet: nothing is owed)."""
    return current_edition >= 1 and current_edition not in acknowledged_editions
