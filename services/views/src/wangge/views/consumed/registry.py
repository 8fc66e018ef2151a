"""The registry's events as the views service reads them: people, households, places,
things, organisations, visits and grid workers.

Every event type, each a tolerant reader of the fields in clear (sealed blocks are never
read here: this service holds no data keys).

Generated from the producer's models; a view that needs a field the producer adds later adds it
here (with a default, so that older events still read)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from wangge.events import IntegrationEvent


class BuildingRegridded(IntegrationEvent):
    event_type = "wangge.registry.BuildingRegridded"
    place_id: uuid.UUID
    from_grid_id: uuid.UUID
    to_grid_id: uuid.UUID


class DwellingUsageChanged(IntegrationEvent):
    event_type = "wangge.registry.DwellingUsageChanged"
    place_id: uuid.UUID
    usage: str


class GridWorkerAppointed(IntegrationEvent):
    event_type = "wangge.registry.GridWorkerAppointed"
    worker_id: uuid.UUID
    account: str
    name: str
    work_phone: str | None = None
    grid_ids: list[uuid.UUID]
    on: date


class GridWorkerLeft(IntegrationEvent):
    event_type = "wangge.registry.GridWorkerLeft"
    worker_id: uuid.UUID
    on: date
    reason: str


class GridWorkerReassigned(IntegrationEvent):
    event_type = "wangge.registry.GridWorkerReassigned"
    worker_id: uuid.UUID
    grid_ids: list[uuid.UUID]
    on: date


class HazardResolved(IntegrationEvent):
    event_type = "wangge.registry.HazardResolved"
    thing_id: uuid.UUID
    on: date
    how: str


class HouseholdHeadChanged(IntegrationEvent):
    event_type = "wangge.registry.HouseholdHeadChanged"
    household_id: uuid.UUID
    head_person_id: uuid.UUID
    former_head_relationship: str | None = None
    on: date


class HouseholdMemberJoined(IntegrationEvent):
    event_type = "wangge.registry.HouseholdMemberJoined"
    household_id: uuid.UUID
    person_id: uuid.UUID
    relationship: str
    on: date


class HouseholdMemberLeft(IntegrationEvent):
    event_type = "wangge.registry.HouseholdMemberLeft"
    household_id: uuid.UUID
    person_id: uuid.UUID
    on: date
    reason: str


class HouseholdRegistered(IntegrationEvent):
    event_type = "wangge.registry.HouseholdRegistered"
    household_id: uuid.UUID
    number: str
    type: str
    dwelling_id: uuid.UUID
    head_person_id: uuid.UUID
    on: date


class NeedNoted(IntegrationEvent):
    event_type = "wangge.registry.NeedNoted"
    visit_id: uuid.UUID
    need_id: uuid.UUID
    dwelling_id: uuid.UUID
    household_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    category: str
    description: str


class OrganisationClosed(IntegrationEvent):
    event_type = "wangge.registry.OrganisationClosed"
    organisation_id: uuid.UUID
    on: date
    reason: str


class OrganisationContactErased(IntegrationEvent):
    event_type = "wangge.registry.OrganisationContactErased"
    organisation_id: uuid.UUID
    contact_id: uuid.UUID
    legal_ground: str


class OrganisationDetailsChanged(IntegrationEvent):
    event_type = "wangge.registry.OrganisationDetailsChanged"
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_id: uuid.UUID | None = None
    contact_name_masked: str | None = None
    contact_phone_masked: str | None = None
    organisation_id: uuid.UUID
    name: str
    kind: str
    address: str | None = None


class OrganisationMoved(IntegrationEvent):
    event_type = "wangge.registry.OrganisationMoved"
    organisation_id: uuid.UUID
    place_id: uuid.UUID


class OrganisationRegistered(IntegrationEvent):
    event_type = "wangge.registry.OrganisationRegistered"
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_id: uuid.UUID | None = None
    contact_name_masked: str | None = None
    contact_phone_masked: str | None = None
    organisation_id: uuid.UUID
    uscc: str
    name: str
    kind: str
    place_id: uuid.UUID
    address: str | None = None


class PersonDetailsCorrected(IntegrationEvent):
    event_type = "wangge.registry.PersonDetailsCorrected"
    sex: str
    birth_year: int
    name_masked: str
    identity_masked: str
    phone_masked: str | None = None
    person_id: uuid.UUID
    hukou_type: str


class PersonDwellingRelated(IntegrationEvent):
    event_type = "wangge.registry.PersonDwellingRelated"
    person_id: uuid.UUID
    dwelling_id: uuid.UUID
    relation: str
    since: date


class PersonDwellingRelationEnded(IntegrationEvent):
    event_type = "wangge.registry.PersonDwellingRelationEnded"
    person_id: uuid.UUID
    dwelling_id: uuid.UUID
    relation: str
    on: date


class PersonMergeUndone(IntegrationEvent):
    event_type = "wangge.registry.PersonMergeUndone"
    person_id: uuid.UUID
    from_person_id: uuid.UUID


class PersonMerged(IntegrationEvent):
    event_type = "wangge.registry.PersonMerged"
    person_id: uuid.UUID
    into_person_id: uuid.UUID


class PersonMovedIn(IntegrationEvent):
    event_type = "wangge.registry.PersonMovedIn"
    person_id: uuid.UUID
    dwelling_id: uuid.UUID
    on: date


class PersonMovedOut(IntegrationEvent):
    event_type = "wangge.registry.PersonMovedOut"
    person_id: uuid.UUID
    dwelling_id: uuid.UUID | None
    on: date


class PersonRegistered(IntegrationEvent):
    event_type = "wangge.registry.PersonRegistered"
    sex: str
    birth_year: int
    name_masked: str
    identity_masked: str
    phone_masked: str | None = None
    person_id: uuid.UUID
    hukou_type: str
    residence_status: str


class PersonResidenceStatusChanged(IntegrationEvent):
    event_type = "wangge.registry.PersonResidenceStatusChanged"
    person_id: uuid.UUID
    residence_status: str
    on: date


class PersonTagged(IntegrationEvent):
    event_type = "wangge.registry.PersonTagged"
    person_id: uuid.UUID
    tag: str
    source: str
    valid_from: date
    valid_until: date | None = None


class PersonUntagged(IntegrationEvent):
    event_type = "wangge.registry.PersonUntagged"
    person_id: uuid.UUID
    tag: str
    on: date
    reason: str


class PersonalDataDisclosed(IntegrationEvent):
    event_type = "wangge.registry.PersonalDataDisclosed"
    person_id: uuid.UUID
    fields: list[str]
    purpose: str


class PersonalDataErased(IntegrationEvent):
    event_type = "wangge.registry.PersonalDataErased"
    person_id: uuid.UUID
    legal_ground: str


class PlaceRegistered(IntegrationEvent):
    event_type = "wangge.registry.PlaceRegistered"
    place_id: uuid.UUID
    kind: str
    name: str
    code: str | None = None
    number: str | None = None
    parent_id: uuid.UUID | None = None
    usage: str | None = None
    boundary: dict[str, Any] | dict[str, Any] | None = None


class PlaceRenamed(IntegrationEvent):
    event_type = "wangge.registry.PlaceRenamed"
    place_id: uuid.UUID
    name: str


class ThingInspected(IntegrationEvent):
    event_type = "wangge.registry.ThingInspected"
    thing_id: uuid.UUID
    on: date
    finding: str
    risk_level: str | None = None


class ThingRegistered(IntegrationEvent):
    event_type = "wangge.registry.ThingRegistered"
    thing_id: uuid.UUID
    kind: str
    category: str
    name: str
    place_id: uuid.UUID
    responsible_organisation_id: uuid.UUID | None = None
    description: str | None = None
    risk_level: str | None = None


class ThingRemoved(IntegrationEvent):
    event_type = "wangge.registry.ThingRemoved"
    thing_id: uuid.UUID
    on: date
    reason: str


class VisitRecorded(IntegrationEvent):
    event_type = "wangge.registry.VisitRecorded"
    visit_id: uuid.UUID
    worker_account: str
    dwelling_id: uuid.UUID
    household_id: uuid.UUID | None = None
    visited_at: datetime
    documents_checked: list[str] | None = None
    persons_confirmed: list[uuid.UUID] | None = None
    persons_added: list[uuid.UUID] | None = None
    persons_corrected: list[uuid.UUID] | None = None
    note: str | None = None
