"""Erasure of a data subject's training personal data (crypto-shredding, DESIGN §6): a grid
worker's, or the outside people of a session (its instructors) or of a forum (its guests).

The erasure is a stream of its own (``erasure-<subject id>``) whose one event records the legal
ground and, through the envelope, who asked; the key is destroyed in the same transaction.
Erasing again changes nothing: the first erasure stands.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from wangge.events import DomainEvent, default_catalogue
from wangge.governance.erasure import ErasureGround
from wangge.training.domain.sessions import SERVICE


class Subject(StrEnum):
    """Whose data a key seals."""

    WORKER = "worker"
    SESSION = "session"
    FORUM = "forum"


def stream_id(subject_id: uuid.UUID) -> str:
    """The stream of a subject's erasure."""
    return f"erasure-{subject_id}"


@default_catalogue.event(SERVICE)
class TrainingPersonalDataErased(DomainEvent):
    """The subject's data key was destroyed: what was sealed with it is unreadable from now on
    (the clear parts, redacted or masked when written, stay)."""

    subject_id: uuid.UUID
    subject: Subject
    legal_ground: ErasureGround


def evolve(
    state: TrainingPersonalDataErased | None, event: DomainEvent, version: int
) -> TrainingPersonalDataErased:
    assert isinstance(event, TrainingPersonalDataErased)
    return state or event


def erase(
    erased: TrainingPersonalDataErased | None,
    *,
    subject_id: uuid.UUID,
    subject: Subject,
    legal_ground: ErasureGround,
) -> list[DomainEvent]:
    """The erasure, once (an erasure asked again is the first one)."""
    if erased is not None:
        return []
    return [
        TrainingPersonalDataErased(
            subject_id=subject_id, subject=subject, legal_ground=legal_ground
        )
    ]
