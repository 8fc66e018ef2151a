"""Persons (人): who lives in the subdistrict, with their personal data sealed inside events.

A person's stream is ``person-<uuid>``; the uuid is random, never derived from the identity
number, so it is the pseudonymous person id other services use. Names, identity numbers, birth
dates, phones, ethnicity, work and whereabouts travel only inside :class:`Sealed` blocks,
encrypted with the person's own data key; destroying that key (erasure) leaves every other fact
readable and those fields unreadable forever. Events carry masked display values in clear
(``张**``, ``320111********123X``, ``138****5678``), as DESIGN section 6 gives other services.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import DomainError
from wangge.governance.special_groups import KNOWN_TAGS as KNOWN_TAGS
from wangge.registry.domain.free_text import clear_copy
from wangge.registry.domain.identity import (
    IdentityNumber,
    Sex,
    mask_identity,
    mask_name,
    mask_phone,
)


class HukouType(StrEnum):
    """Household registration (户籍)."""

    LOCAL = "local"
    NON_LOCAL = "non_local"


class ResidenceStatus(StrEnum):
    """常住 resident, 流动 floating, 寄住 lodging, 流出 moved out, or deceased."""

    RESIDENT = "resident"
    FLOATING = "floating"
    LODGING = "lodging"
    MOVED_OUT = "moved_out"
    DECEASED = "deceased"


class DwellingRelation(StrEnum):
    """How a person is tied to a dwelling."""

    OWNER = "owner"
    TENANT = "tenant"
    LODGER = "lodger"


RESTRICTED_TAGS = frozenset({
    "community_correction", "severe_mental_disorder", "key_youth", "released_prisoner",
    "drug_rehabilitation",
})  # fmt: skip
"""Health and justice tags: staff see them, departments' minimised view does not."""

_TAG = re.compile(r"^[a-z][a-z_]{1,39}$")


class PersonalDetails(BaseModel):
    """What a :class:`Sealed` block of a registration or correction holds."""

    model_config = ConfigDict(frozen=True)

    name: str
    identity_number: str
    birth_date: date
    phone: str | None = None
    ethnicity: str | None = None
    occupation: str | None = None
    employer: str | None = None
    contact: str | None = None


"""Encrypts a block of personal data with the person's data key (given by the handler)."""


# -- events ---------------------------------------------------------------------------------------


class _Masked(DomainEvent):
    sex: Sex
    birth_year: int = Field(ge=1890, le=2200, description="for age bands; the date is sealed")
    name_masked: str
    identity_masked: str
    phone_masked: str | None = None
    personal: Sealed = Field(description="PersonalDetails, sealed")


@default_catalogue.event("registry")
class PersonRegistered(_Masked):
    """A person was entered in the register (collected once, used many times)."""

    person_id: uuid.UUID
    hukou_type: HukouType
    residence_status: ResidenceStatus


@default_catalogue.event("registry")
class PersonDetailsCorrected(_Masked):
    """A person's details were corrected (e.g. on a visit); the sealed block replaces the old."""

    person_id: uuid.UUID
    hukou_type: HukouType


@default_catalogue.event("registry")
class PersonResidenceStatusChanged(DomainEvent):
    """A person's residence status changed on a date (e.g. floating → resident, deceased)."""

    person_id: uuid.UUID
    residence_status: ResidenceStatus
    on: date


@default_catalogue.event("registry")
class PersonMovedIn(DomainEvent):
    """A person came to live in a dwelling on a date (valid time), from somewhere."""

    person_id: uuid.UUID
    dwelling_id: uuid.UUID
    on: date
    origin: Sealed | None = Field(default=None, description='{"origin": "..."}, sealed')


@default_catalogue.event("registry")
class PersonMovedOut(DomainEvent):
    """A person left the subdistrict on a date; where they went (去向) is sealed."""

    person_id: uuid.UUID
    dwelling_id: uuid.UUID | None
    on: date
    whereabouts: Sealed | None = Field(default=None, description='{"whereabouts": "..."}')


@default_catalogue.event("registry")
class PersonDwellingRelated(DomainEvent):
    """A person became owner, tenant or lodger of a dwelling."""

    person_id: uuid.UUID
    dwelling_id: uuid.UUID
    relation: DwellingRelation
    since: date


@default_catalogue.event("registry")
class PersonDwellingRelationEnded(DomainEvent):
    """A person stopped being owner, tenant or lodger of a dwelling."""

    person_id: uuid.UUID
    dwelling_id: uuid.UUID
    relation: DwellingRelation
    on: date


@default_catalogue.event("registry")
class PersonTagged(DomainEvent):
    """A person was marked as one of a special, key or vulnerable group, for a period."""

    person_id: uuid.UUID
    tag: str = Field(pattern=_TAG.pattern)
    source: str = Field(
        min_length=1, max_length=200,
        description="who says so: 民政局, a visit (phone numbers and the like masked)",
    )  # fmt: skip
    valid_from: date
    valid_until: date | None = None


@default_catalogue.event("registry")
class PersonUntagged(DomainEvent):
    """A tag no longer applies from a date."""

    person_id: uuid.UUID
    tag: str = Field(pattern=_TAG.pattern)
    on: date
    reason: str = Field(
        min_length=1, max_length=500, description="phone numbers and the like masked (redacted)"
    )


class MovedTie(BaseModel):
    """A tie to a dwelling a merge moved to the record kept."""

    dwelling_id: uuid.UUID
    relation: DwellingRelation


@default_catalogue.event("registry")
class PersonMerged(DomainEvent):
    """This record was found to be a duplicate of another person; it now points there. What it
    carried that the kept record did not (tags in force, ties to dwellings) was given to the
    kept record in the same transaction, as that record's own ``PersonTagged`` and
    ``PersonDwellingRelated``; ``moved_tags`` and ``moved_ties`` say which, so that an unmerge
    takes exactly those back."""

    person_id: uuid.UUID
    into_person_id: uuid.UUID
    moved_tags: list[str] = Field(default_factory=list)
    moved_ties: list[MovedTie] = Field(default_factory=list)


@default_catalogue.event("registry")
class PersonMergeUndone(DomainEvent):
    """A merge was a mistake: this record stands on its own again."""

    person_id: uuid.UUID
    from_person_id: uuid.UUID


@default_catalogue.event("registry")
class DuplicateDismissed(DomainEvent):
    """Staff reviewed a likely duplicate and found two people: the pair is no longer offered."""

    person_id: uuid.UUID
    other_person_id: uuid.UUID


@default_catalogue.event("registry")
class PersonalDataErased(DomainEvent):
    """The person's data key was destroyed: sealed fields are unreadable from now on."""

    person_id: uuid.UUID
    legal_ground: ErasureGround


@default_catalogue.event("registry")
class PersonalDataDisclosed(DomainEvent):
    """Someone read a person's unmasked data (an audit record, on stream ``disclosure-<id>``)."""

    person_id: uuid.UUID
    fields: list[str]
    purpose: str = Field(
        min_length=1, max_length=500,
        description="why, as the reader gave it; phone numbers and the like masked (redacted)",
    )  # fmt: skip


# -- errors ---------------------------------------------------------------------------------------


class InvalidPerson(DomainError):
    """The command breaks a rule about persons."""

    slug = "invalid-person"
    title = "The command breaks a rule about persons"


NOT_HERE = (
    "this identity number cannot be registered here; ask community or subdistrict staff, "
    "who see across grids"
)
"""The one answer to a caller whose places do not cover the person holding the number."""


class DuplicatePerson(DomainError):
    """One identity number, one person.

    The detail names the holder only when ``named``: whoever raises it knows nothing of the
    caller's places, so by default it says no more than uniqueness itself gives away (someone
    holds the number), and the API names the holder to a caller whose places cover them.
    """

    status = 409
    slug = "duplicate-person"
    title = "A person with this identity number is registered"

    def __init__(self, existing: uuid.UUID, *, named: bool = False) -> None:
        detail = f"the identity number belongs to person {existing}" if named else NOT_HERE
        super().__init__(detail, field="identity_number")
        self.existing = existing


class PersonalDataErasedError(DomainError):
    """The person's personal data were erased; they cannot be read or changed."""

    status = 410
    slug = "personal-data-erased"
    title = "The person's personal data were erased"


# -- state and decisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A person as their events left them (personal data stay sealed)."""

    person_id: uuid.UUID
    sex: Sex
    birth_year: int
    hukou_type: HukouType
    residence_status: ResidenceStatus
    version: int
    dwelling_id: uuid.UUID | None = None
    relations: frozenset[tuple[uuid.UUID, DwellingRelation]] = frozenset()
    tags: Mapping[str, date] = field(default_factory=dict)
    """The tags given and not ended, by the day each began."""
    tags_until: Mapping[str, date] = field(default_factory=dict)
    """The last day of those given until a day (after it they lapse, with no event)."""
    merged_into: uuid.UUID | None = None
    erased: bool = False
    personal: Sealed | None = None
    tag_sources: Mapping[str, str] = field(default_factory=dict)
    """Who says so, of each tag given and not ended (a merge gives the tag on with it)."""
    relations_since: Mapping[tuple[uuid.UUID, DwellingRelation], date] = field(default_factory=dict)
    moved: PersonMerged | None = None
    """The merge in force, with what it moved to the kept record."""


def stream_id(person_id: uuid.UUID) -> str:
    """The person's stream."""
    return f"person-{person_id}"


def disclosure_stream(person_id: uuid.UUID) -> str:
    """Where reads of the person's unmasked data are recorded."""
    return f"disclosure-{person_id}"


def evolve(state: Person | None, event: DomainEvent, version: int) -> Person:
    """The person after one more of their events."""
    if isinstance(event, PersonRegistered):
        return Person(
            event.person_id,
            Sex(event.sex),
            event.birth_year,
            HukouType(event.hukou_type),
            ResidenceStatus(event.residence_status),
            version,
            personal=event.personal,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before PersonRegistered")
    state = replace(state, version=version)
    if isinstance(event, PersonDetailsCorrected):
        return replace(
            state,
            sex=Sex(event.sex),
            birth_year=event.birth_year,
            hukou_type=HukouType(event.hukou_type),
            personal=event.personal,
        )
    if isinstance(event, PersonResidenceStatusChanged):
        return replace(state, residence_status=ResidenceStatus(event.residence_status))
    if isinstance(event, PersonMovedIn):
        status = state.residence_status
        if status in (ResidenceStatus.MOVED_OUT,):
            status = ResidenceStatus.RESIDENT
        return replace(state, dwelling_id=event.dwelling_id, residence_status=status)
    if isinstance(event, PersonMovedOut):
        return replace(state, dwelling_id=None, residence_status=ResidenceStatus.MOVED_OUT)
    if isinstance(event, PersonDwellingRelated):
        relation = (event.dwelling_id, DwellingRelation(event.relation))
        return replace(
            state, relations=state.relations | {relation},
            relations_since={**state.relations_since, relation: event.since},
        )  # fmt: skip
    if isinstance(event, PersonDwellingRelationEnded):
        relation = (event.dwelling_id, DwellingRelation(event.relation))
        since = {k: v for k, v in state.relations_since.items() if k != relation}
        return replace(state, relations=state.relations - {relation}, relations_since=since)
    if isinstance(event, PersonTagged):
        until = {k: v for k, v in state.tags_until.items() if k != event.tag}
        if event.valid_until is not None:
            until[event.tag] = event.valid_until
        return replace(
            state, tags={**state.tags, event.tag: event.valid_from}, tags_until=until,
            tag_sources={**state.tag_sources, event.tag: event.source},
        )  # fmt: skip
    if isinstance(event, PersonUntagged):
        return replace(
            state,
            tags={k: v for k, v in state.tags.items() if k != event.tag},
            tags_until={k: v for k, v in state.tags_until.items() if k != event.tag},
            tag_sources={k: v for k, v in state.tag_sources.items() if k != event.tag},
        )
    if isinstance(event, PersonMerged):
        return replace(state, merged_into=event.into_person_id, moved=event)
    if isinstance(event, PersonMergeUndone):
        return replace(state, merged_into=None, moved=None)
    if isinstance(event, PersonalDataErased):
        return replace(state, erased=True, personal=None)
    if isinstance(event, DuplicateDismissed):
        return state  # a reviewer's finding about the pair: the person is as they were
    raise ValueError(f"a person has no event {type(event).__name__}")


def _masks(identity: IdentityNumber, details: PersonalDetails) -> dict[str, Any]:
    return {
        "sex": identity.sex,
        "birth_year": identity.birth_date.year,
        "name_masked": mask_name(details.name),
        "identity_masked": mask_identity(identity.number),
        "phone_masked": mask_phone(details.phone) if details.phone else None,
    }


def register(
    *,
    person_id: uuid.UUID,
    identity: IdentityNumber,
    details: PersonalDetails,
    hukou_type: HukouType,
    residence_status: ResidenceStatus,
    seal: Seal,
) -> list[DomainEvent]:
    """Decide a registration; the birth date and sex come from the identity number."""
    _check_details(identity, details)
    if residence_status in (ResidenceStatus.MOVED_OUT, ResidenceStatus.DECEASED):
        raise InvalidPerson(
            "register a person as living here, then record the move or death",
            field="residence_status",
        )
    return [
        PersonRegistered(
            person_id=person_id,
            hukou_type=hukou_type,
            residence_status=residence_status,
            personal=seal(details.model_dump(mode="json")),
            **_masks(identity, details),
        )
    ]


def correct(
    person: Person,
    *,
    identity: IdentityNumber,
    details: PersonalDetails,
    hukou_type: HukouType,
    seal: Seal,
) -> list[DomainEvent]:
    """Decide a correction of a person's details (the whole block is sealed again)."""
    _writable(person)
    _check_details(identity, details)
    return [
        PersonDetailsCorrected(
            person_id=person.person_id,
            hukou_type=hukou_type,
            personal=seal(details.model_dump(mode="json")),
            **_masks(identity, details),
        )
    ]


def _check_details(identity: IdentityNumber, details: PersonalDetails) -> None:
    if details.identity_number != identity.number or details.birth_date != identity.birth_date:
        raise InvalidPerson("details must carry the checked identity number", field="identity")
    if not details.name.strip():
        raise InvalidPerson("a person needs a name", field="name")


def _writable(person: Person) -> None:
    if person.erased:
        raise PersonalDataErasedError(f"person {person.person_id} was erased")
    if person.merged_into is not None:
        raise InvalidPerson(
            f"this record was merged into person {person.merged_into}; change that one",
            field="person_id",
        )


def change_residence(person: Person, status: ResidenceStatus, on: date) -> list[DomainEvent]:
    """Decide a new residence status (moves have their own commands)."""
    _writable(person)
    if status == ResidenceStatus.MOVED_OUT:
        raise InvalidPerson("a move out is recorded as a move, with whereabouts", field="status")
    if person.residence_status == ResidenceStatus.DECEASED:
        raise InvalidPerson("the person is recorded as deceased", field="residence_status")
    if status == person.residence_status:
        return []
    return [
        PersonResidenceStatusChanged(person_id=person.person_id, residence_status=status, on=on)
    ]


def move_in(
    person: Person, *, dwelling_id: uuid.UUID, on: date, origin: Sealed | None
) -> list[DomainEvent]:
    """Decide a move into a dwelling."""
    _writable(person)
    if person.residence_status == ResidenceStatus.DECEASED:
        raise InvalidPerson("the person is recorded as deceased", field="person_id")
    if person.dwelling_id == dwelling_id:
        return []
    return [
        PersonMovedIn(person_id=person.person_id, dwelling_id=dwelling_id, on=on, origin=origin)
    ]


def move_out(person: Person, *, on: date, whereabouts: Sealed | None) -> list[DomainEvent]:
    """Decide a move out of the subdistrict (their whereabouts, 去向, sealed)."""
    _writable(person)
    if person.residence_status in (ResidenceStatus.MOVED_OUT, ResidenceStatus.DECEASED):
        raise InvalidPerson(f"the person is {person.residence_status} already", field="person_id")
    return [
        PersonMovedOut(
            person_id=person.person_id, dwelling_id=person.dwelling_id, on=on,
            whereabouts=whereabouts,
        )
    ]  # fmt: skip


def relate(
    person: Person, *, dwelling_id: uuid.UUID, relation: DwellingRelation, since: date
) -> list[DomainEvent]:
    """Decide a new tie between the person and a dwelling (owner, tenant, lodger)."""
    _writable(person)
    if (dwelling_id, relation) in person.relations:
        return []
    return [
        PersonDwellingRelated(
            person_id=person.person_id, dwelling_id=dwelling_id, relation=relation, since=since
        )
    ]


def end_relation(
    person: Person, *, dwelling_id: uuid.UUID, relation: DwellingRelation, on: date
) -> list[DomainEvent]:
    """Decide the end of a tie to a dwelling."""
    _writable(person)
    if (dwelling_id, relation) not in person.relations:
        raise InvalidPerson(f"the person is no {relation} of that dwelling", field="dwelling_id")
    return [
        PersonDwellingRelationEnded(
            person_id=person.person_id, dwelling_id=dwelling_id, relation=relation, on=on
        )
    ]


def in_force(person: Person, tag: str, on: date) -> bool:
    """Whether the person carries ``tag`` on the day ``on``: given, not ended, not lapsed."""
    until = person.tags_until.get(tag)
    return tag in person.tags and (until is None or until >= on)


def tag(
    person: Person,
    *,
    tag: str,
    source: str,
    valid_from: date,
    valid_until: date | None,
    today: date,
) -> list[DomainEvent]:
    """Decide tagging a person as one of a special, key or vulnerable group: nothing new while
    the tag is in force; a new period once it ended or lapsed."""
    _writable(person)
    if tag not in KNOWN_TAGS:
        raise InvalidPerson(f"unknown tag; known: {', '.join(KNOWN_TAGS)}", field="tag")
    if valid_until is not None and valid_until < valid_from:
        raise InvalidPerson("a tag ends after it starts", field="valid_until")
    if in_force(person, tag, today):
        return []
    return [
        PersonTagged(
            person_id=person.person_id, tag=tag, source=clear_copy(source, 200),
            valid_from=valid_from,
            valid_until=valid_until,
        )
    ]  # fmt: skip


def untag(person: Person, *, tag: str, on: date, reason: str) -> list[DomainEvent]:
    """Decide that a tag no longer applies."""
    _writable(person)
    if tag not in person.tags:
        raise InvalidPerson("the person does not carry this tag", field="tag")
    return [
        PersonUntagged(person_id=person.person_id, tag=tag, on=on, reason=clear_copy(reason, 500))
    ]


MERGE_UNDONE = "合并撤销"
"""Why a tag a merge gave ends when the merge is undone (the record it came from has it)."""


@dataclass(frozen=True)
class Merging:
    """A merge's events: on the duplicate's stream, and on the kept record's."""

    duplicate: list[DomainEvent]
    kept: list[DomainEvent]


def merge(duplicate: Person, into: Person, *, today: date) -> Merging:
    """Decide that ``duplicate`` is the same human as ``into`` (reversible): it points there,
    and the kept record takes over what the duplicate carried and it did not (tags in force,
    with their period and source; ties to dwellings, with their day), so a search by tag or a
    dwelling's owners finds the human once, under the kept record. Where they live and their
    household stay each record's: two homes are a conflict for a person to settle, not a rule."""
    _writable(duplicate)
    _writable(into)
    if duplicate.person_id == into.person_id:
        raise InvalidPerson("a person cannot be merged into themselves", field="into_person_id")
    tags = sorted(
        t for t in duplicate.tags if in_force(duplicate, t, today) and not in_force(into, t, today)
    )
    ties = sorted((r for r in duplicate.relations if r not in into.relations), key=str)
    kept: list[DomainEvent] = [
        PersonTagged(
            person_id=into.person_id, tag=t, source=duplicate.tag_sources.get(t, "合并"),
            valid_from=duplicate.tags[t], valid_until=duplicate.tags_until.get(t),
        )
        for t in tags
    ]  # fmt: skip
    kept += [
        PersonDwellingRelated(
            person_id=into.person_id, dwelling_id=dwelling, relation=relation,
            since=duplicate.relations_since.get((dwelling, relation), today),
        )
        for dwelling, relation in ties
    ]  # fmt: skip
    merged = PersonMerged(
        person_id=duplicate.person_id, into_person_id=into.person_id, moved_tags=tags,
        moved_ties=[MovedTie(dwelling_id=d, relation=r) for d, r in ties],
    )  # fmt: skip
    return Merging([merged], kept)


def dismiss_duplicate(person: Person, other: Person) -> list[DomainEvent]:
    """Decide that two records a duplicate search paired are two people."""
    if person.person_id == other.person_id:
        raise InvalidPerson("a record is not a duplicate of itself", field="other_person_id")
    return [DuplicateDismissed(person_id=person.person_id, other_person_id=other.person_id)]


def unmerge(duplicate: Person, kept: Person | None, *, today: date) -> Merging:
    """Decide undoing a merge: the record stands on its own again (it kept its own tags and
    ties all along), and the kept record gives back what the merge gave it, as far as it still
    carries it (ended since, there is nothing to give back)."""
    if duplicate.merged_into is None:
        raise InvalidPerson("this record is not merged", field="person_id")
    undone = PersonMergeUndone(person_id=duplicate.person_id, from_person_id=duplicate.merged_into)
    moved = duplicate.moved
    if kept is None or moved is None or kept.erased:
        return Merging([undone], [])
    back: list[DomainEvent] = [
        PersonUntagged(person_id=kept.person_id, tag=t, on=today, reason=MERGE_UNDONE)
        for t in moved.moved_tags
        if t in kept.tags
    ]
    back += [
        PersonDwellingRelationEnded(
            person_id=kept.person_id, dwelling_id=tie.dwelling_id, relation=tie.relation, on=today
        )
        for tie in moved.moved_ties
        if (tie.dwelling_id, DwellingRelation(tie.relation)) in kept.relations
    ]
    return Merging([undone], back)


def erase(person: Person, ground: ErasureGround) -> list[DomainEvent]:
    """Decide the erasure of a person's personal data (their key is destroyed with it)."""
    if person.erased:
        return []
    return [PersonalDataErased(person_id=person.person_id, legal_ground=ground)]
