"""The registry's events the cases service reads: the place tree (which grid a dwelling is in,
which community a grid is in) and grid workers, as every copy of the roster reads them
(``wangge.governance.registry_events``, re-exported here); needs noted on door-to-door visits,
residents' masked names, their merges (a duplicate record pointing at the one kept) and their
erasure, as only this service reads them."""

from __future__ import annotations

import uuid

from wangge.events import IntegrationEvent
from wangge.governance.registry_events import (
    BuildingRegridded,
    GridWorkerAppointed,
    GridWorkerLeft,
    GridWorkerReassigned,
    PlaceRegistered,
)

__all__ = [
    "BuildingRegridded",
    "GridWorkerAppointed",
    "GridWorkerLeft",
    "GridWorkerReassigned",
    "NeedNoted",
    "PersonDetailsCorrected",
    "PersonMergeUndone",
    "PersonMerged",
    "PersonRegistered",
    "PersonalDataErased",
    "PlaceRegistered",
]


class NeedNoted(IntegrationEvent):
    """A need a grid worker noted on a visit: a suggested case."""

    event_type = "wangge.registry.NeedNoted"
    need_id: uuid.UUID
    visit_id: uuid.UUID
    dwelling_id: uuid.UUID
    person_id: uuid.UUID | None = None
    category: str
    description: str


class PersonRegistered(IntegrationEvent):
    """A resident entered in the register: the cases service keeps only the masked name."""

    event_type = "wangge.registry.PersonRegistered"
    person_id: uuid.UUID
    name_masked: str


class PersonDetailsCorrected(IntegrationEvent):
    """A resident's details corrected: the masked name may have changed with them."""

    event_type = "wangge.registry.PersonDetailsCorrected"
    person_id: uuid.UUID
    name_masked: str


class PersonalDataErased(IntegrationEvent):
    """A resident's personal data erased in the registry: the cases service shreds what it
    sealed about them (``domain.erasure``). The ground is read as text, so a ground added to the
    registry later is recorded rather than refused."""

    event_type = "wangge.registry.PersonalDataErased"
    person_id: uuid.UUID
    legal_ground: str


class PersonMerged(IntegrationEvent):
    """A duplicate record found to be the same person as another: rows naming the duplicate
    are read as naming the record kept, which a registry fact about that person reaches."""

    event_type = "wangge.registry.PersonMerged"
    person_id: uuid.UUID
    into_person_id: uuid.UUID


class PersonMergeUndone(IntegrationEvent):
    """A merge was a mistake: the duplicate stands on its own again, as it was before."""

    event_type = "wangge.registry.PersonMergeUndone"
    person_id: uuid.UUID
    from_person_id: uuid.UUID
