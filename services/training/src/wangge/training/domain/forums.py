"""Forums (座谈会): grid workers, with guests from outside at times, meet on a topic; the
suggestions made there are recorded and each is followed up, so that none is simply heard and
forgotten. A suggestion is adopted (and says what it added to the service list, the services
grid workers offer), answered, or declined with the reason given back to whoever made it.

A forum is a stream of its own (``forum-<uuid>``), recorded once it was held; its suggestions
come from its participants (or from a guest, not named by an id) and each is followed up once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field

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

MAX_PARTICIPANTS = 500


class Outcome(StrEnum):
    """How a suggestion was followed up."""

    ADOPTED = "adopted"
    ANSWERED = "answered"
    DECLINED = "declined"


Name = Annotated[str, Field(min_length=1, max_length=100)]


def stream_id(forum_id: uuid.UUID) -> str:
    """The stream of a forum."""
    return f"forum-{forum_id}"


@default_catalogue.event(SERVICE)
class ForumHeld(DomainEvent):
    """A forum as it was held: its topic, time and place, who took part and what was said."""

    forum_id: uuid.UUID
    topic: str = Field(min_length=1, max_length=200)
    held_at: AwareDatetime
    place: str = Field(min_length=1, max_length=200)
    participants: list[uuid.UUID] = Field(
        min_length=1, max_length=MAX_PARTICIPANTS, description="the grid workers who took part"
    )
    guests: list[Name] = Field(
        default_factory=list,
        max_length=100,
        description="the names of others who took part, masked",
    )
    summary: str = Field(default="", max_length=4000)
    sealed: Sealed | None = sealed_field()
    """``guests`` and ``summary`` (the forum's key)."""


@default_catalogue.event(SERVICE)
class SuggestionRecorded(DomainEvent):
    """A suggestion made at the forum, by a participant (``by_worker``) or a guest (None)."""

    forum_id: uuid.UUID
    suggestion_id: uuid.UUID
    by_worker: uuid.UUID | None = None
    text: str = Field(min_length=1, max_length=2000)
    sealed: Sealed | None = sealed_field()
    """``text`` (the worker's key, or a guest's: the forum's)."""


@default_catalogue.event(SERVICE)
class SuggestionFollowedUp(DomainEvent):
    """What became of a suggestion: adopted into the service list, answered, or declined."""

    forum_id: uuid.UUID
    suggestion_id: uuid.UUID
    outcome: Outcome
    note: str = Field(default="", max_length=2000, description="the answer, or the reason")
    service_list_item: str | None = Field(
        default=None, max_length=200, description="adopted: what the service list gained"
    )
    by: str = Field(min_length=1, max_length=100, description="the account following it up")
    on: date
    sealed: Sealed | None = sealed_field()
    """``note`` (the key that sealed the suggestion)."""


@dataclass(frozen=True)
class Forum:
    """A forum's state: its participants, and its suggestions with their outcome (None until
    followed up) and who made them (None: a guest)."""

    forum_id: uuid.UUID
    held_at: datetime
    participants: frozenset[uuid.UUID]
    suggestions: dict[uuid.UUID, Outcome | None] = field(default_factory=dict)
    authors: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)

    def subject_of(self, suggestion_id: uuid.UUID) -> uuid.UUID:
        """Whose key seals what is said of a suggestion: its worker's, or the forum's."""
        return self.authors.get(suggestion_id) or self.forum_id


def evolve(state: Forum | None, event: DomainEvent, version: int) -> Forum:
    if isinstance(event, ForumHeld):
        return Forum(event.forum_id, event.held_at, frozenset(event.participants))
    if state is None:
        raise ValueError(f"a forum starts with ForumHeld, not {event!r}")
    if isinstance(event, SuggestionRecorded):
        return replace(
            state,
            suggestions={**state.suggestions, event.suggestion_id: None},
            authors={**state.authors, event.suggestion_id: event.by_worker},
        )
    if isinstance(event, SuggestionFollowedUp):
        outcome = Outcome(event.outcome)
        return replace(state, suggestions={**state.suggestions, event.suggestion_id: outcome})
    return state


def hold(
    *,
    forum_id: uuid.UUID,
    topic: str,
    held_at: datetime,
    place: str,
    participants: list[uuid.UUID],
    guests: list[str],
    summary: str,
    now: datetime,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """A forum, recorded once it was held (the same day or later); the guests' names and the
    summary sealed with the forum's key (``seal``), masked and redacted in clear."""
    if held_at > now:
        raise InvalidTraining("a forum is recorded once it was held", field="held_at")
    if len(set(participants)) != len(participants):
        raise InvalidTraining("each participant is named once", field="participants")
    return [
        ForumHeld(
            forum_id=forum_id, topic=redact(topic), held_at=held_at, place=redact(place),
            participants=participants, guests=[mask_name(g) for g in guests],
            summary=redact(summary, names=guests),
            sealed=sealed(seal, guests=guests, summary=summary),
        )
    ]  # fmt: skip


def record_suggestion(
    forum: Forum,
    *,
    suggestion_id: uuid.UUID,
    by_worker: uuid.UUID | None,
    text: str,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """A suggestion made at the forum: by one of its participants, or by a guest (None); its
    text sealed with the worker's key (a guest's: the forum's), redacted in clear."""
    if by_worker is not None and by_worker not in forum.participants:
        raise InvalidTraining("the worker did not take part in the forum", field="by_worker")
    if suggestion_id in forum.suggestions:
        raise WrongState("the suggestion is recorded already", field="suggestion_id")
    if not text.strip():
        raise InvalidTraining("a suggestion says what is suggested", field="text")
    return [
        SuggestionRecorded(
            forum_id=forum.forum_id,
            suggestion_id=suggestion_id,
            by_worker=by_worker,
            text=redact(text),
            sealed=sealed(seal, text=text),
        )
    ]


def follow_up(
    forum: Forum,
    *,
    suggestion_id: uuid.UUID,
    outcome: Outcome,
    note: str,
    service_list_item: str | None,
    by: str,
    on: date,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """What became of a suggestion, once: an adopted one names what it added to the service
    list; an answered one carries the answer, a declined one the reason, in ``note`` (sealed
    with the key of the suggestion's author, :meth:`Forum.subject_of`; redacted in clear)."""
    if suggestion_id not in forum.suggestions:
        raise InvalidTraining("the forum has no such suggestion", field="suggestion_id")
    if forum.suggestions[suggestion_id] is not None:
        raise WrongState(
            f"the suggestion was followed up already ({forum.suggestions[suggestion_id]})",
            field="suggestion_id",
        )
    if outcome == Outcome.ADOPTED:
        if service_list_item is None or not service_list_item.strip():
            raise InvalidTraining(
                "an adopted suggestion names what it added to the service list",
                field="service_list_item",
            )
    elif service_list_item is not None:
        raise InvalidTraining(
            "only an adopted suggestion adds to the service list", field="service_list_item"
        )
    if outcome == Outcome.DECLINED and not note.strip():
        raise InvalidTraining("a declined suggestion is given the reason", field="note")
    if outcome == Outcome.ANSWERED and not note.strip():
        raise InvalidTraining("an answered suggestion carries the answer", field="note")
    if on < forum.held_at.date():
        raise InvalidTraining("a suggestion is followed up after the forum", field="on")
    return [
        SuggestionFollowedUp(
            forum_id=forum.forum_id, suggestion_id=suggestion_id, outcome=outcome,
            note=redact(note),
            service_list_item=redact(service_list_item) if service_list_item else None,
            by=by, on=on, sealed=sealed(seal, note=note),
        )
    ]  # fmt: skip
