"""``/persons``: residents, floating population and people who moved out (提户知人)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent
from wangge.events.sealing import Sealed
from wangge.events.store import AppendResult
from wangge.governance.erasure import Erasure
from wangge.governance.errors import Forbidden
from wangge.governance.personal import PHONE_SCHEMA
from wangge.registry.api.access import ADMINS, MANAGERS, STAFF, Manager, Reader, Staff, in_scope
from wangge.registry.api.bounds import Moment, Page, Size
from wangge.registry.api.changes import Change, answer, changes
from wangge.registry.api.deps import Core, Keys, ReadConnection
from wangge.registry.api.history import HistoryPage, stream_history
from wangge.registry.api.people import DwellingTie, PersonRead, place_in_scope, visible_person
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.domain import persons
from wangge.registry.domain.identity import parse_identity_number
from wangge.registry.domain.persons import (
    KNOWN_TAGS,
    RESTRICTED_TAGS,
    DwellingRelation,
    HukouType,
    PersonalDataErasedError,
    PersonalDetails,
    ResidenceStatus,
)
from wangge.registry.handlers import persons as handlers
from wangge.registry.handlers.persons import TooManyDisclosures
from wangge.registry.projections import duplicates, people_queries
from wangge.registry.projections.views import Views
from wangge.service.auth import Principal
from wangge.service.commands import Command, set_etag
from wangge.service.responses import problems

router = APIRouter(prefix="/persons", tags=["persons"])

NAME = Field(min_length=1, max_length=100)
IDENTITY = Field(min_length=15, max_length=20, description="GB 11643-1999; 15 digits are upgraded")


class PersonDetails(BaseModel):
    """Personal details as typed on a visit or from a census sheet."""

    name: str = NAME
    identity_number: str = IDENTITY
    phone: str | None = Field(
        default=None,
        max_length=30,
        description="mobile or landline",
        json_schema_extra=PHONE_SCHEMA,
    )
    ethnicity: str | None = Field(default=None, max_length=20, examples=["汉族"])
    occupation: str | None = Field(default=None, max_length=100)
    employer: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=200, description="an emergency contact")
    hukou_type: HukouType


class PersonCreate(PersonDetails):
    """A person to register, living at a dwelling."""

    residence_status: ResidenceStatus = Field(description="resident, floating or lodging")
    dwelling_id: uuid.UUID
    moved_in_on: date | None = Field(default=None, description="default: today")
    moved_in_from: str | None = Field(default=None, max_length=200, description="sealed")


class IdentityLookup(BaseModel):
    """An exact identity number to look up."""

    identity_number: str = IDENTITY


class PersonalData(PersonalDetails):
    """A person's unmasked personal data (every read is an audit event)."""

    person_id: uuid.UUID
    origin: str | None = Field(default=None, description="where they moved in from")
    whereabouts: str | None = Field(default=None, description="where they went (去向)")


class ResidenceUpdate(BaseModel):
    """A new residence status."""

    residence_status: ResidenceStatus
    on: date


class MoveInCreate(BaseModel):
    """A move into a dwelling."""

    dwelling_id: uuid.UUID
    on: date
    origin: str | None = Field(default=None, max_length=200)


class MoveOutCreate(BaseModel):
    """A move out, with whereabouts (去向)."""

    on: date
    whereabouts: str | None = Field(default=None, max_length=200)


class TieCreate(BaseModel):
    """A tie to a dwelling."""

    dwelling_id: uuid.UUID
    relation: DwellingRelation
    since: date


class TieEnd(BaseModel):
    """The end of a tie to a dwelling."""

    dwelling_id: uuid.UUID
    relation: DwellingRelation
    on: date


class TagCreate(BaseModel):
    """A tag for a special, key or vulnerable group."""

    tag: str = Field(
        description="one of: " + ", ".join(f"{k} ({v})" for k, v in KNOWN_TAGS.items())
    )
    source: str = Field(min_length=1, max_length=200)
    valid_from: date
    valid_until: date | None = None


class TagEnd(BaseModel):
    """Why and when a tag ends."""

    on: date
    reason: str = Field(min_length=1, max_length=500)


class MergeCreate(BaseModel):
    """The record to keep."""

    into_person_id: uuid.UUID


class PersonPage(BaseModel):
    """One page of persons."""

    items: list[PersonRead]
    total: int
    page: int
    size: int


async def _dwelling_in_scope(
    conn: ReadConnection, core: Core, principal: Principal, dwelling_id: uuid.UUID
) -> None:
    views = await Views.of(conn, core)
    await place_in_scope(conn, views, principal, dwelling_id, field="dwelling_id", what="dwelling")


async def _person(
    conn: AsyncConnection, core: RegistryCore, principal: Principal, person_id: uuid.UUID
) -> PersonRead:
    return await visible_person(conn, await Views.of(conn, core), principal, person_id)


StaffChange = Annotated[Change[PersonRead], changes(_person, "person_id", *STAFF)]
ManagerChange = Annotated[Change[PersonRead], changes(_person, "person_id", *MANAGERS)]
AdminChange = Annotated[Change[PersonRead], changes(_person, "person_id", *ADMINS)]
ERASABLE = problems(PersonalDataErasedError)


def _person_id(result: AppendResult) -> uuid.UUID:
    return uuid.UUID(result.stream_id.removeprefix("person-"))


@asynccontextmanager
async def _holder_named_in_scope(
    conn: ReadConnection, core: Core, principal: Principal
) -> AsyncIterator[None]:
    """Name the holder of a taken identity number only to a caller whose places cover them.

    Anyone else gets the fixed text of an unnamed ``DuplicatePerson``, whoever holds the number:
    a detail that varied with the holder would tell a grid worker about someone outside their
    grids. A holder not yet in the read model counts as outside.
    """
    try:
        yield
    except persons.DuplicatePerson as duplicate:
        await conn.rollback()  # a snapshot that sees a holder who registered concurrently
        views = await Views.of(conn, core)
        scope = await people_queries.person_scope(
            conn, views.people, views.places, duplicate.existing
        )
        if in_scope(principal, scope):
            raise persons.DuplicatePerson(duplicate.existing, named=True) from None
        raise persons.DuplicatePerson(duplicate.existing) from None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PersonRead)
async def register_person(
    body: PersonCreate, principal: Staff, command: Command, keys: Keys,
    conn: ReadConnection, core: Core, response: Response,
) -> PersonRead:  # fmt: skip
    """Register a person at a dwelling in the caller's places; one identity number, one person.

    A number another person holds is a 409 `duplicate-person` naming `identity_number`. Its
    detail names that person's id only to a caller whose places cover them, who may then go to
    the record. Anyone else gets one fixed text, the same whoever holds the number and wherever:
    the number cannot be registered here, ask community or subdistrict staff (who see across
    grids). Uniqueness cannot hide that the number is taken, and `POST /persons/lookup` already
    answers whether it is held inside the caller's places; nothing more is told: no person, no
    place.
    """
    await _dwelling_in_scope(conn, core, principal, body.dwelling_id)
    async with _holder_named_in_scope(conn, core, principal):
        result = await handlers.register_person(
            command.commands, keys, handlers.RegisterPerson(**dict(body))
        )
    person_id = _person_id(result)
    response.headers["Location"] = f"/persons/{person_id}"
    return await answer(_person, conn, core, principal, response, person_id)


@router.get("", response_model=PersonPage)
async def search_persons(
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    name: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
    address: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    residence_status: ResidenceStatus | None = None,
    page: Page = 1,
    size: Size = 50,
) -> PersonPage:
    """Persons in the caller's places, by name, address, tag or status; masked, paginated."""
    if name is not None and principal.department_only:
        raise Forbidden("departments do not search by name", field="query/name")
    if tag and principal.department_only and tag in RESTRICTED_TAGS:
        raise Forbidden("departments do not search by this tag", field="query/tag")
    views = await Views.of(conn, core)
    rows, total = await people_queries.persons_page(
        conn, views.people, views.places, within=principal.places, name=name, address=address,
        tag=tag, residence_status=residence_status.value if residence_status else None,
        page=page, size=size,
    )  # fmt: skip
    items = [PersonRead.model_validate(r, from_attributes=True) for r in rows]
    return PersonPage(items=items, total=total, page=page, size=size)


class DuplicateSide(BaseModel):
    """One record of a likely duplicate, masked: the reviewer opens its personal data."""

    person_id: uuid.UUID
    name_masked: str
    sex: str
    birth_year: int
    residence_status: str
    address: str | None


class DuplicatePair(BaseModel):
    """Two records that may be one human, and why (the rule: ``projections.duplicates``)."""

    person: DuplicateSide
    other: DuplicateSide
    score: float = Field(description="what they share: name 0.7 (0.45 one character apart), "
                         "dwelling 0.2, household 0.1")  # fmt: skip
    reasons: list[str]


class DuplicatePage(BaseModel):
    items: list[DuplicatePair]
    total: int


class DismissCreate(BaseModel):
    """The other record of the pair: two people, not one."""

    other_person_id: uuid.UUID


@router.get("/duplicates", response_model=DuplicatePage)
async def likely_duplicates(
    principal: Manager,
    conn: ReadConnection,
    core: Core,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DuplicatePage:
    """Records in my places that may be one human (same sex and birth year, and the same name,
    or a name one character apart in the same dwelling or household), best first, for review:
    merge them (``POST /persons/{id}/merge``) or dismiss the pair
    (``POST /persons/{id}/duplicates/dismiss``)."""
    views = await Views.of(conn, core)
    found, rows = await duplicates.likely_duplicates(
        conn, views.people, views.places, within=principal.places
    )

    def side(person_id: uuid.UUID) -> DuplicateSide:
        return DuplicateSide.model_validate(rows[person_id], from_attributes=True)

    items = [
        DuplicatePair(
            person=side(c.person_id), other=side(c.other_person_id), score=c.score,
            reasons=list(c.reasons),
        )
        for c in found[:limit]
    ]  # fmt: skip
    return DuplicatePage(items=items, total=len(found))


@router.post("/lookup", response_model=PersonRead)
async def lookup_by_identity_number(
    body: IdentityLookup, principal: Staff, keys: Keys, conn: ReadConnection, core: Core,
    response: Response,
) -> PersonRead:  # fmt: skip
    """The person with an identity number (exact match; POST keeps the number out of URLs)."""
    identity = parse_identity_number(body.identity_number, today=handlers.today())
    views = await Views.of(conn, core)
    identity_hash = keys.identity_hash(identity.number)
    person = await visible_person(conn, views, principal, identity_hash=identity_hash)
    set_etag(response, person.version)
    return person


@router.get("/{person_id}", response_model=PersonRead)
async def read_person(
    person_id: uuid.UUID, principal: Reader, conn: ReadConnection, core: Core,
    response: Response,
) -> PersonRead:  # fmt: skip
    """A person, masked (names, identity numbers and phones show only a few characters)."""
    person = await visible_person(conn, await Views.of(conn, core), principal, person_id)
    set_etag(response, person.version)
    return person


@router.get(
    "/{person_id}/personal-data",
    response_model=PersonalData,
    responses=problems(PersonalDataErasedError, TooManyDisclosures),
)
async def read_personal_data(
    person_id: uuid.UUID,
    purpose: Annotated[str, Query(min_length=2, max_length=500, description="why: audited")],
    principal: Staff,
    command: Command,
    keys: Keys,
    conn: ReadConnection,
    core: Core,
) -> PersonalData:
    """The unmasked data of a person in the caller's places: audited, and rate limited."""
    await visible_person(conn, await Views.of(conn, core), principal, person_id)
    per_minute = core.settings.disclosures_per_minute
    loaded = await handlers.load_person(command.commands, person_id, "person_id")
    opened = await handlers.disclose(
        command.commands, keys, person=loaded, fields=sorted(PersonalData.model_fields),
        purpose=purpose, per_minute=per_minute,
    )  # fmt: skip
    return PersonalData.model_validate({**opened, "person_id": person_id})


@router.delete("/{person_id}/personal-data", status_code=status.HTTP_200_OK)
async def erase_personal_data(body: Erasure, change: AdminChange) -> PersonRead:
    """Erase a person's personal data (crypto-shredding): their key is destroyed for good."""
    cmd = handlers.Erase(person_id=change.record_id, legal_ground=body.legal_ground)
    return await change.run(lambda: handlers.erase(change.commands, change.core, cmd))


@router.put("/{person_id}/details", response_model=PersonRead, responses=ERASABLE)
async def correct_details(body: PersonDetails, change: StaffChange, keys: Keys) -> PersonRead:
    """Correct a person's details (send If-Match).

    A new identity number another person holds is a 409 `duplicate-person` as for
    `POST /persons`: the holder's id only to a caller whose places cover them, to anyone else
    one fixed text naming no person nor place. It is not dressed as a stale `If-Match` (409
    `concurrency-conflict`): that one concerns only the caller's own record and asks for
    another action (read it again), and hiding the difference would hide nothing uniqueness
    does not already tell.
    """
    cmd = handlers.CorrectPerson(person_id=change.record_id, **dict(body))

    async def correct() -> None:
        async with _holder_named_in_scope(change.conn, change.core, change.principal):
            await handlers.correct_person(change.commands, keys, cmd)

    return await change.run(correct)


@router.put("/{person_id}/residence-status", response_model=PersonRead, responses=ERASABLE)
async def change_residence(body: ResidenceUpdate, change: StaffChange) -> PersonRead:
    """Record a new residence status (resident, floating, lodging, deceased)."""
    cmd = handlers.ChangeResidence(person_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.change_residence(change.commands, cmd))


@router.post("/{person_id}/move-in", response_model=PersonRead, responses=ERASABLE)
async def move_in(body: MoveInCreate, change: StaffChange, keys: Keys) -> PersonRead:
    """Record a move into a dwelling of the caller's places."""
    await _dwelling_in_scope(change.conn, change.core, change.principal, body.dwelling_id)
    cmd = handlers.MoveIn(person_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.move_in(change.commands, keys, cmd))


@router.post("/{person_id}/move-out", response_model=PersonRead, responses=ERASABLE)
async def move_out(body: MoveOutCreate, change: StaffChange, keys: Keys) -> PersonRead:
    """Record a move out of the subdistrict and where to; they leave their household too."""
    views = await Views.of(change.conn, change.core)
    person = await visible_person(change.conn, views, change.principal, change.record_id)
    cmd = handlers.MoveOut(
        person_id=change.record_id, household_id=person.household_id, **dict(body)
    )
    return await change.run(lambda: handlers.move_out(change.commands, keys, cmd))


@router.post("/{person_id}/dwelling-ties", response_model=PersonRead, responses=ERASABLE)
async def add_tie(body: TieCreate, change: StaffChange) -> PersonRead:
    """Record that a person owns, rents or lodges in a dwelling."""
    await _dwelling_in_scope(change.conn, change.core, change.principal, body.dwelling_id)
    cmd = handlers.Relate(person_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.relate(change.commands, cmd))


@router.post("/{person_id}/dwelling-ties/end", response_model=PersonRead, responses=ERASABLE)
async def end_tie(body: TieEnd, change: StaffChange) -> PersonRead:
    """Record the end of a tie to a dwelling."""
    cmd = handlers.EndRelation(person_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.end_relation(change.commands, cmd))


@router.post("/{person_id}/tags", response_model=PersonRead, responses=ERASABLE)
async def tag_person(body: TagCreate, change: StaffChange) -> PersonRead:
    """Tag a person as one of a special, key or vulnerable group, with source and period."""
    cmd = handlers.Tag(person_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.tag_person(change.commands, cmd))


async def _path_tag(tag: str) -> str:
    """The path's tag, as a dependency so the API document keeps listing it after the person."""
    return tag


@router.post("/{person_id}/tags/{tag}/end", response_model=PersonRead, responses=ERASABLE)
async def end_tag(
    body: TagEnd, change: StaffChange, tag: Annotated[str, Depends(_path_tag)]
) -> PersonRead:
    """End a tag (the history keeps it)."""
    cmd = handlers.Untag(person_id=change.record_id, tag=tag, **dict(body))
    return await change.run(lambda: handlers.untag_person(change.commands, cmd))


@router.post("/{person_id}/merge", response_model=PersonRead, responses=ERASABLE)
async def merge_person(body: MergeCreate, change: ManagerChange) -> PersonRead:
    """Mark this record as a duplicate of another person (undo with /unmerge)."""
    views = await Views.of(change.conn, change.core)
    await visible_person(change.conn, views, change.principal, body.into_person_id)
    cmd = handlers.Merge(person_id=change.record_id, into_person_id=body.into_person_id)
    return await change.run(lambda: handlers.merge(change.commands, cmd))


@router.post("/{person_id}/duplicates/dismiss", response_model=PersonRead, responses=ERASABLE)
async def dismiss_duplicate(body: DismissCreate, change: ManagerChange) -> PersonRead:
    """Two records the duplicate search paired are two people: the pair is not offered again."""
    views = await Views.of(change.conn, change.core)
    await visible_person(change.conn, views, change.principal, body.other_person_id)
    cmd = handlers.DismissDuplicate(
        person_id=change.record_id, other_person_id=body.other_person_id
    )
    return await change.run(lambda: handlers.dismiss_duplicate(change.commands, cmd))


@router.post("/{person_id}/unmerge", response_model=PersonRead)
async def unmerge_person(change: ManagerChange) -> PersonRead:
    """Undo a merge."""
    cmd = handlers.Unmerge(person_id=change.record_id)
    return await change.run(lambda: handlers.unmerge(change.commands, cmd))


def _shown(event: DomainEvent) -> dict[str, Any]:
    # sealed blocks stay sealed in a history: the audited personal-data read opens them
    return {
        key: ("(sealed)" if isinstance(getattr(event, key), Sealed) else value)
        for key, value in event.model_dump(mode="json", exclude_none=True).items()
    }


@router.get("/{person_id}/history", response_model=HistoryPage)
async def person_history(
    person_id: uuid.UUID, principal: Staff, conn: ReadConnection, core: Core
) -> HistoryPage:
    """Every change of a person, oldest first; personal data stay sealed."""
    await visible_person(conn, await Views.of(conn, core), principal, person_id)
    return await stream_history(core.store, persons.stream_id(person_id), show=_shown)


residents = APIRouter(tags=["persons"])


class Resident(BaseModel):
    """Someone living in a dwelling on a date (masked)."""

    person_id: uuid.UUID
    name_masked: str
    sex: str
    birth_year: int
    residence_status: str
    since: date
    until: date | None


class ResidentsOnDate(BaseModel):
    """Who lived in a dwelling on a date, as the register knew it at a time."""

    dwelling_id: uuid.UUID
    as_of: date
    known_at: datetime | None
    residents: list[Resident]
    ties: list[DwellingTie] = Field(
        default=[], description="who owns, rents or lodges in it now (not as of the date)"
    )


@residents.get("/places/{dwelling_id}/residents", response_model=ResidentsOnDate)
async def residents_on_date(
    dwelling_id: uuid.UUID,
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    as_of_date: Annotated[
        date | None, Query(alias="as_of", description="the date (default: today)")
    ] = None,
    known_at: Annotated[
        Moment | None, Query(description="as the register knew it then (default: now)")
    ] = None,
) -> ResidentsOnDate:
    """Who lived in a dwelling on a date — moves carry the date they took effect."""
    views = await Views.of(conn, core)
    await place_in_scope(conn, views, principal, dwelling_id, field="dwelling_id")
    on = as_of_date or handlers.today()
    rows = await people_queries.residents_on(conn, views.people, dwelling_id, on, known_at)
    return ResidentsOnDate(
        dwelling_id=dwelling_id, as_of=on, known_at=known_at,
        residents=[
            Resident(
                person_id=row.person_id, name_masked=row.name_masked, sex=row.sex,
                birth_year=row.birth_year, residence_status=row.residence_status,
                since=row.valid_from, until=row.valid_to,
            )
            for row in rows
        ],
        ties=[
            DwellingTie.model_validate(t, from_attributes=True)
            for t in await people_queries.dwelling_ties(conn, views.people, dwelling_id=dwelling_id)
        ],
    )  # fmt: skip
