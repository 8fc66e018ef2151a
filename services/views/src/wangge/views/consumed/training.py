"""The training service's events as the views service reads them: sessions, programmes,
secondments, handbooks, forums.

Every event type, each a tolerant reader of the fields in clear (sealed blocks are never
read here: this service holds no data keys).

Generated from the producer's models; a view that needs a field the producer adds later adds it
here (with a default, so that older events still read)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from wangge.events import IntegrationEvent


class AssessmentRecorded(IntegrationEvent):
    event_type = "wangge.training.AssessmentRecorded"
    session_id: uuid.UUID
    worker_id: uuid.UUID
    score: float
    max_score: float
    recorded_by: str


class AttendanceRecorded(IntegrationEvent):
    event_type = "wangge.training.AttendanceRecorded"
    session_id: uuid.UUID
    worker_id: uuid.UUID
    attendance: str
    recorded_by: str
    note: str = ""


class EnrolmentWithdrawn(IntegrationEvent):
    event_type = "wangge.training.EnrolmentWithdrawn"
    session_id: uuid.UUID
    worker_id: uuid.UUID


class ForumHeld(IntegrationEvent):
    event_type = "wangge.training.ForumHeld"
    forum_id: uuid.UUID
    topic: str
    held_at: datetime
    place: str
    participants: list[uuid.UUID]
    guests: list[str] | None = None
    summary: str = ""


class HandbookAcknowledged(IntegrationEvent):
    event_type = "wangge.training.HandbookAcknowledged"
    handbook_id: uuid.UUID
    edition: int
    worker_id: uuid.UUID
    acknowledged_on: date


class HandbookEditionPublished(IntegrationEvent):
    event_type = "wangge.training.HandbookEditionPublished"
    handbook_id: uuid.UUID
    title: str
    edition: int
    published_on: date
    sections: list[dict[str, Any]]


class MaterialAttached(IntegrationEvent):
    event_type = "wangge.training.MaterialAttached"
    session_id: uuid.UUID
    material: dict[str, Any]


class ProgrammeDefined(IntegrationEvent):
    event_type = "wangge.training.ProgrammeDefined"
    programme_id: uuid.UUID
    name: str
    description: str = ""
    modules: list[dict[str, Any]]
    ordered: bool
    period_days: int | None = None


class SecondmentArranged(IntegrationEvent):
    event_type = "wangge.training.SecondmentArranged"
    secondment_id: uuid.UUID
    worker_id: uuid.UUID
    host_kind: str
    host: str
    starts_on: date
    ends_on: date
    mentor: str
    goals: list[str]


class SecondmentCancelled(IntegrationEvent):
    event_type = "wangge.training.SecondmentCancelled"
    secondment_id: uuid.UUID
    reason: str


class SecondmentEvaluated(IntegrationEvent):
    event_type = "wangge.training.SecondmentEvaluated"
    secondment_id: uuid.UUID
    evaluated_on: date
    rating: str
    goals_met: list[bool]
    summary: str
    by: str


class SecondmentExtended(IntegrationEvent):
    event_type = "wangge.training.SecondmentExtended"
    secondment_id: uuid.UUID
    ends_on: date
    reason: str


class SuggestionFollowedUp(IntegrationEvent):
    event_type = "wangge.training.SuggestionFollowedUp"
    forum_id: uuid.UUID
    suggestion_id: uuid.UUID
    outcome: str
    note: str = ""
    service_list_item: str | None = None
    by: str
    on: date


class SuggestionRecorded(IntegrationEvent):
    event_type = "wangge.training.SuggestionRecorded"
    forum_id: uuid.UUID
    suggestion_id: uuid.UUID
    by_worker: uuid.UUID | None = None
    text: str


class TrainingPersonalDataErased(IntegrationEvent):
    event_type = "wangge.training.TrainingPersonalDataErased"
    subject_id: uuid.UUID
    subject: str
    legal_ground: str


class TrainingSessionCancelled(IntegrationEvent):
    event_type = "wangge.training.TrainingSessionCancelled"
    session_id: uuid.UUID
    reason: str


class TrainingSessionRescheduled(IntegrationEvent):
    event_type = "wangge.training.TrainingSessionRescheduled"
    session_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    place: str
    reason: str


class TrainingSessionScheduled(IntegrationEvent):
    event_type = "wangge.training.TrainingSessionScheduled"
    session_id: uuid.UUID
    topic: str
    programme_id: uuid.UUID | None = None
    module_code: str | None = None
    instructors: list[dict[str, Any]]
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int
    materials: list[dict[str, Any]] | None = None


class WorkerEnrolled(IntegrationEvent):
    event_type = "wangge.training.WorkerEnrolled"
    session_id: uuid.UUID
    worker_id: uuid.UUID
    from_waitlist: bool = False


class WorkerEnrolledInProgramme(IntegrationEvent):
    event_type = "wangge.training.WorkerEnrolledInProgramme"
    programme_id: uuid.UUID
    worker_id: uuid.UUID
    on: date


class WorkerLeftProgramme(IntegrationEvent):
    event_type = "wangge.training.WorkerLeftProgramme"
    programme_id: uuid.UUID
    worker_id: uuid.UUID
    on: date
    reason: str


class WorkerWaitlisted(IntegrationEvent):
    event_type = "wangge.training.WorkerWaitlisted"
    session_id: uuid.UUID
    worker_id: uuid.UUID
