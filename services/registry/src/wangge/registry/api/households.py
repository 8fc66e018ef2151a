"""``/households``: households (户) and their members; the household card (户卡), as of a date."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from wangge.governance.errors import Conflict
from wangge.registry.api.access import STAFF, Reader, Staff, ensure_visible
from wangge.registry.api.bounds import Moment, Page, Size
from wangge.registry.api.changes import Change, answer, changes, path_id
from wangge.registry.api.deps import Core, ReadConnection
from wangge.registry.api.history import HistoryPage, stream_history
from wangge.registry.api.people import place_in_scope, visible_person
from wangge.registry.domain import households
from wangge.registry.domain.households import HouseholdType, Relationship
from wangge.registry.handlers import households as handlers
from wangge.registry.handlers.persons import today
from wangge.registry.projections import people_queries
from wangge.registry.projections.views import Views
from wangge.service.auth import Principal
from wangge.service.commands import Command, set_etag

router = APIRouter(prefix="/households", tags=["households"])


class HouseholdCreate(BaseModel):
    """A household at a dwelling, with its head (already registered as a person)."""

    number: str = Field(min_length=1, max_length=40, description="户号")
    type: HouseholdType
    dwelling_id: uuid.UUID
    head_person_id: uuid.UUID
    on: date = Field(description="since when the household lives there")


class MemberCreate(BaseModel):
    """A person joining."""

    person_id: uuid.UUID
    relationship: Relationship
    on: date


class MemberLeave(BaseModel):
    """A member leaving."""

    on: date
    reason: str = Field(min_length=1, max_length=200)


class HeadChange(BaseModel):
    """A new head of household."""

    person_id: uuid.UUID
    former_head_relationship: Relationship | None = None
    on: date


class Member(BaseModel):
    """A member on the household card (masked)."""

    person_id: uuid.UUID
    relationship: str
    since: date
    name_masked: str
    identity_masked: str
    sex: str
    birth_year: int
    residence_status: str
    tags: list[str]


class HouseholdCard(BaseModel):
    """The household card (户卡): the household and who belonged to it on a date."""

    household_id: uuid.UUID
    number: str
    type: str
    dwelling_id: uuid.UUID
    address: str
    scope: str
    head_person_id: uuid.UUID
    as_of: date
    known_at: datetime | None
    members: list[Member]
    version: int


class HouseholdSummary(BaseModel):
    """A household in a list."""

    household_id: uuid.UUID
    number: str
    type: str
    dwelling_id: uuid.UUID
    address: str
    head_person_id: uuid.UUID


class HouseholdPage(BaseModel):
    """One page of households."""

    items: list[HouseholdSummary]
    total: int
    page: int
    size: int


async def _visible(
    conn: ReadConnection, core: Core, principal: Principal, household_id: uuid.UUID
) -> tuple[Views, Any]:
    views = await Views.of(conn, core)
    row = await people_queries.household(conn, views.people, views.places, household_id)
    ensure_visible(principal, row.scope if row is not None else None, f"household {household_id}")
    return views, row


async def card(
    conn: ReadConnection, core: Core, principal: Principal, household_id: uuid.UUID,
    on: date | None = None, known_at: datetime | None = None,
) -> HouseholdCard:  # fmt: skip
    """The household card as of ``on`` (default today), as known at ``known_at``; the scope is
    checked on the card's rows before anything is returned."""
    views = await Views.of(conn, core)
    on = on or today()
    rows = await people_queries.household_card(
        conn, views.people, views.places, household_id, on, known_at
    )
    row = rows[0] if rows else None
    ensure_visible(principal, row.scope if row is not None else None, f"household {household_id}")
    assert row is not None
    members: dict[uuid.UUID, Member] = {}
    for r in rows:
        if r.person_id is None:
            continue  # a household without members on that date
        member = members.get(r.person_id)
        if member is None:
            member = members[r.person_id] = Member(
                person_id=r.person_id, relationship=r.relationship, since=r.valid_from,
                name_masked=r.name_masked, identity_masked=r.identity_masked, sex=r.sex,
                birth_year=r.birth_year, residence_status=r.residence_status, tags=[],
            )  # fmt: skip
        if r.tag is not None:
            member.tags.append(r.tag)
    return HouseholdCard(
        household_id=row.household_id, number=row.number, type=row.type,
        dwelling_id=row.dwelling_id, address=row.address, scope=row.scope,
        head_person_id=row.head_person_id, as_of=on, known_at=known_at, version=row.version,
        members=list(members.values()),
    )  # fmt: skip


HouseholdChange = Annotated[Change[HouseholdCard], changes(card, "household_id", *STAFF)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HouseholdCard)
async def register_household(
    body: HouseholdCreate, principal: Staff, command: Command, conn: ReadConnection,
    core: Core, response: Response,
) -> HouseholdCard:  # fmt: skip
    """Register a household at a dwelling in the caller's places; its head is a member."""
    views = await Views.of(conn, core)
    await place_in_scope(
        conn, views, principal, body.dwelling_id, field="dwelling_id", what="dwelling"
    )
    cmd = handlers.RegisterHousehold(**dict(body))
    # a retry of a registration that went through (its answer lost on the way) finds its head
    # in the household it made: it gets the first answer, not the check's conflict
    first = await command.commands.replayed(command.commands.fingerprint(cmd))
    if first is None:
        await _not_in_another_household(conn, views, principal, body.head_person_id, None)
    result = first or await handlers.register_household(command.commands, cmd)
    household_id = uuid.UUID(result.stream_id.removeprefix("household-"))
    response.headers["Location"] = f"/households/{household_id}"
    return await answer(card, conn, core, principal, response, household_id)


async def _not_in_another_household(
    conn: ReadConnection, views: Views, principal: Principal, person_id: uuid.UUID,
    household_id: uuid.UUID | None,
) -> None:  # fmt: skip
    person = await visible_person(conn, views, principal, person_id)
    if person.household_id is not None and person.household_id != household_id:
        raise Conflict(
            f"the person belongs to household {person.household_id}; they leave it first",
            field="person_id",
        )


@router.get("", response_model=HouseholdPage)
async def list_households(
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    dwelling_id: uuid.UUID | None = None,
    number: Annotated[str | None, Query(max_length=40)] = None,
    page: Page = 1,
    size: Size = 50,
) -> HouseholdPage:
    """Households in the caller's places."""
    views = await Views.of(conn, core)
    rows, total = await people_queries.households_page(
        conn, views.people, views.places, within=principal.places, dwelling_id=dwelling_id,
        number=number, page=page, size=size,
    )  # fmt: skip
    items = [HouseholdSummary.model_validate(r, from_attributes=True) for r in rows]
    return HouseholdPage(items=items, total=total, page=page, size=size)


@router.get("/{household_id}", response_model=HouseholdCard)
async def household_card(
    household_id: uuid.UUID,
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    response: Response,
    as_of_date: Annotated[
        date | None, Query(alias="as_of", description="members on this date (default: today)")
    ] = None,
    known_at: Annotated[
        Moment | None,
        Query(description="as the register knew it at this time (default: now)"),
    ] = None,
) -> HouseholdCard:
    """The household card (户卡) with its members, masked; "as of" a date, "as known at" a time."""
    result = await card(conn, core, principal, household_id, as_of_date, known_at)
    set_etag(response, result.version)
    return result


@router.post("/{household_id}/members", response_model=HouseholdCard)
async def add_member(body: MemberCreate, change: HouseholdChange) -> HouseholdCard:
    """A person joins the household (they belong to no other)."""
    household_id = change.record_id
    views, _ = await _visible(change.conn, change.core, change.principal, household_id)
    await _not_in_another_household(
        change.conn, views, change.principal, body.person_id, household_id
    )
    cmd = handlers.JoinHousehold(household_id=household_id, **dict(body))
    return await change.run(lambda: handlers.join_household(change.commands, cmd))


@router.post("/{household_id}/members/{person_id}/leave", response_model=HouseholdCard)
async def remove_member(
    body: MemberLeave, change: HouseholdChange,
    person_id: Annotated[uuid.UUID, path_id("person_id")],
) -> HouseholdCard:  # fmt: skip
    """A member leaves the household on a date."""
    cmd = handlers.LeaveHousehold(household_id=change.record_id, person_id=person_id, **dict(body))
    return await change.run(lambda: handlers.leave_household(change.commands, cmd))


@router.post("/{household_id}/head", response_model=HouseholdCard)
async def change_head(body: HeadChange, change: HouseholdChange) -> HouseholdCard:
    """Another member becomes head of household."""
    cmd = handlers.ChangeHead(household_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.change_head(change.commands, cmd))


@router.get("/{household_id}/history", response_model=HistoryPage)
async def household_history(
    household_id: uuid.UUID, principal: Staff, conn: ReadConnection, core: Core
) -> HistoryPage:
    """Every change of a household, oldest first."""
    await _visible(conn, core, principal, household_id)
    return await stream_history(core.store, households.stream_id(household_id))
