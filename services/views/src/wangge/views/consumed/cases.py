"""The cases service's events as the views service reads them: cases of every kind,
mediation, care plans.

Every event type, each a tolerant reader of the fields in clear (sealed blocks are never
read here: this service holds no data keys).

Generated from the producer's models; a view that needs a field the producer adds later adds it
here (with a default, so that older events still read)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from wangge.events import IntegrationEvent


class AgreementFollowedUp(IntegrationEvent):
    event_type = "wangge.cases.AgreementFollowedUp"
    case_id: uuid.UUID
    agreement_id: uuid.UUID
    honoured: bool
    note: str


class CarePlanDataErased(IntegrationEvent):
    event_type = "wangge.cases.CarePlanDataErased"
    plan_id: uuid.UUID
    legal_ground: str


class CarePlanEnded(IntegrationEvent):
    event_type = "wangge.cases.CarePlanEnded"
    plan_id: uuid.UUID
    ended_on: date
    reason: str


class CarePlanStarted(IntegrationEvent):
    event_type = "wangge.cases.CarePlanStarted"
    plan_id: uuid.UUID
    resident: str
    resident_masked: str
    grid_id: uuid.UUID
    kind: str
    every_days: int
    worker_account: str
    starts_on: date
    note: str = ""


class CareVisitRecorded(IntegrationEvent):
    event_type = "wangge.cases.CareVisitRecorded"
    plan_id: uuid.UUID
    visit_id: uuid.UUID
    visited_on: date
    by: str
    note: str = ""


class CaseAccepted(IntegrationEvent):
    event_type = "wangge.cases.CaseAccepted"
    case_id: uuid.UUID
    account: str


class CaseAssigned(IntegrationEvent):
    event_type = "wangge.cases.CaseAssigned"
    case_id: uuid.UUID
    worker_id: uuid.UUID
    account: str
    reason: str


class CaseClosed(IntegrationEvent):
    event_type = "wangge.cases.CaseClosed"
    case_id: uuid.UUID
    note: str | None = None


class CaseEscalated(IntegrationEvent):
    event_type = "wangge.cases.CaseEscalated"
    case_id: uuid.UUID
    level: str
    to: str
    reason: str


class CaseFollowedUp(IntegrationEvent):
    event_type = "wangge.cases.CaseFollowedUp"
    case_id: uuid.UUID
    satisfied: bool | None = None
    note: str


class CaseOpened(IntegrationEvent):
    event_type = "wangge.cases.CaseOpened"
    case_id: uuid.UUID
    kind: str
    assistance: str | None = None
    source: str
    title: str
    description: str = ""
    grid_id: uuid.UUID | None
    subjects: list[str] | None = None
    ticket_id: uuid.UUID | None = None
    hotspot_id: uuid.UUID | None = None
    need_id: uuid.UUID | None = None
    deadline: datetime | None = None


class CaseProgressNoted(IntegrationEvent):
    event_type = "wangge.cases.CaseProgressNoted"
    case_id: uuid.UUID
    note: str


class CaseReferred(IntegrationEvent):
    event_type = "wangge.cases.CaseReferred"
    case_id: uuid.UUID
    department: str
    reason: str


class CaseReopened(IntegrationEvent):
    event_type = "wangge.cases.CaseReopened"
    case_id: uuid.UUID
    reason: str


class CaseResolved(IntegrationEvent):
    event_type = "wangge.cases.CaseResolved"
    case_id: uuid.UUID
    resolution: str
    solved: bool
    at_source: bool


class MediationAgreementSigned(IntegrationEvent):
    event_type = "wangge.cases.MediationAgreementSigned"
    case_id: uuid.UUID
    agreement_id: uuid.UUID
    parties: list[uuid.UUID]
    facts: str
    dispute: str
    responsibilities: str
    terms: str
    performance: str
    perform_by: date
    signed_on: date
    mediators: list[str]
    confirmation_deadline: date


class MediationPartyJoined(IntegrationEvent):
    event_type = "wangge.cases.MediationPartyJoined"
    case_id: uuid.UUID
    party_id: uuid.UUID
    role: str
    resident: str | None = None
    name_masked: str


class MediationSessionHeld(IntegrationEvent):
    event_type = "wangge.cases.MediationSessionHeld"
    case_id: uuid.UUID
    session_id: uuid.UUID
    held_at: datetime
    place: str
    attendees: list[uuid.UUID]
    mediators: list[str]
    summary: str
    signed_by: list[uuid.UUID]


class MediatorAppointed(IntegrationEvent):
    event_type = "wangge.cases.MediatorAppointed"
    case_id: uuid.UUID
    mediator: str
    organisation: str = ""


class PartyErased(IntegrationEvent):
    event_type = "wangge.cases.PartyErased"
    case_id: uuid.UUID
    party_id: uuid.UUID
    legal_ground: str


class ResidentDataErased(IntegrationEvent):
    event_type = "wangge.cases.ResidentDataErased"
    person_id: uuid.UUID
    legal_ground: str
    care_plans: list[uuid.UUID]
    cases: list[uuid.UUID]
