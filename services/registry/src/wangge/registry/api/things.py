"""``/things``: key facilities (重点设施) and hazard points (安全隐患点), and their inspections."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from wangge.registry.api.access import STAFF, Reader, Staff, ensure_visible
from wangge.registry.api.bounds import Page, Size
from wangge.registry.api.changes import Change, answer, changes
from wangge.registry.api.deps import Core, ReadConnection
from wangge.registry.api.history import HistoryPage, stream_history
from wangge.registry.api.organisations import visible_organisation
from wangge.registry.api.people import place_in_scope
from wangge.registry.domain import things
from wangge.registry.domain.things import RiskLevel, ThingKind, ThingStatus
from wangge.registry.handlers import things as handlers
from wangge.registry.projections import organisations as tables
from wangge.registry.projections.views import Views
from wangge.service.auth import Principal
from wangge.service.commands import Command, set_etag

router = APIRouter(prefix="/things", tags=["things"])


class ThingCreate(BaseModel):
    """A key facility or hazard point to register at a place."""

    kind: ThingKind
    category: str = Field(
        min_length=1, max_length=100, examples=["加油站", "燃气管道", "消防通道占用"]
    )
    name: str = Field(min_length=1, max_length=200)
    place_id: uuid.UUID = Field(description="the grid, building, unit or dwelling it is at")
    responsible_organisation_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=2000)
    risk_level: RiskLevel | None = Field(default=None, description="hazard points only")


class InspectionCreate(BaseModel):
    """An inspection (巡查) and what it found."""

    on: date
    finding: str = Field(min_length=1, max_length=2000)
    risk_level: RiskLevel | None = Field(
        default=None, description="a hazard point's reassessed risk"
    )


class HazardResolution(BaseModel):
    """How a hazard point was dealt with (整改)."""

    on: date
    how: str = Field(min_length=1, max_length=2000)


class ThingRemoval(BaseModel):
    """Why a thing is gone."""

    on: date
    reason: str = Field(min_length=1, max_length=500)


class ThingRead(BaseModel):
    """A key facility or hazard point as the register holds it."""

    thing_id: uuid.UUID
    kind: ThingKind
    category: str
    name: str
    description: str | None
    place_id: uuid.UUID
    place_address: str = Field(description="the address of its place in the tree")
    responsible_organisation_id: uuid.UUID | None
    risk_level: RiskLevel | None
    status: ThingStatus
    last_inspected_on: date | None
    scope: str = Field(description="the code access is checked against (its place's grid)")
    version: int


class InspectionRead(BaseModel):
    """One inspection of a thing."""

    on: date
    finding: str
    risk_level: RiskLevel | None
    recorded_at: datetime = Field(description="when the register learnt of it")


class ThingDetail(ThingRead):
    """A thing with its inspections, latest first."""

    inspections: list[InspectionRead]


class ThingPage(BaseModel):
    """One page of things."""

    items: list[ThingRead]
    total: int
    page: int
    size: int


async def detail(
    conn: ReadConnection, core: Core, principal: Principal, thing_id: uuid.UUID
) -> ThingDetail:
    """A thing the caller may see (404 otherwise), with its inspections."""
    views = await Views.of(conn, core)
    row = await tables.thing(conn, views.organisations, views.places, thing_id)
    ensure_visible(principal, row.scope if row is not None else None, f"thing {thing_id}")
    rows = await tables.inspections(conn, views.organisations, thing_id)
    return ThingDetail.model_validate(
        {
            **row._mapping,
            "inspections": [InspectionRead.model_validate(r, from_attributes=True) for r in rows],
        }
    )


ThingChange = Annotated[Change[ThingDetail], changes(detail, "thing_id", *STAFF)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ThingDetail)
async def register_thing(
    body: ThingCreate, principal: Staff, command: Command, conn: ReadConnection, core: Core,
    response: Response,
) -> ThingDetail:  # fmt: skip
    """Register a key facility or hazard point at a place in the caller's places."""
    views = await Views.of(conn, core)
    await place_in_scope(conn, views, principal, body.place_id, field="place_id")
    if body.responsible_organisation_id is not None:
        await visible_organisation(
            conn, views, principal, body.responsible_organisation_id,
            "responsible_organisation_id",
        )  # fmt: skip
    result = await handlers.register_thing(command.commands, handlers.RegisterThing(**dict(body)))
    thing_id = uuid.UUID(result.stream_id.removeprefix("thing-"))
    response.headers["Location"] = f"/things/{thing_id}"
    return await answer(detail, conn, core, principal, response, thing_id)


@router.get("", response_model=ThingPage)
async def list_things(
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    kind: ThingKind | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    thing_status: Annotated[ThingStatus | None, Query(alias="status")] = None,
    risk_level: RiskLevel | None = None,
    place_id: Annotated[uuid.UUID | None, Query(description="at this place")] = None,
    responsible_organisation_id: uuid.UUID | None = None,
    page: Page = 1,
    size: Size = 50,
) -> ThingPage:
    """Key facilities and hazard points in the caller's places (e.g. open high-risk hazards)."""
    views = await Views.of(conn, core)
    rows, total = await tables.things_page(
        conn, views.organisations, views.places, within=principal.places,
        kind=kind.value if kind is not None else None, category=category,
        status=thing_status.value if thing_status is not None else None,
        risk_level=risk_level.value if risk_level is not None else None, place_id=place_id,
        responsible_organisation_id=responsible_organisation_id, page=page, size=size,
    )  # fmt: skip
    items = [ThingRead.model_validate(r, from_attributes=True) for r in rows]
    return ThingPage(items=items, total=total, page=page, size=size)


@router.get("/{thing_id}", response_model=ThingDetail)
async def read_thing(
    thing_id: uuid.UUID, principal: Reader, conn: ReadConnection, core: Core, response: Response
) -> ThingDetail:
    """One thing with its inspections; its ETag is the version to send back as If-Match."""
    result = await detail(conn, core, principal, thing_id)
    set_etag(response, result.version)
    return result


@router.post("/{thing_id}/inspections", response_model=ThingDetail)
async def inspect_thing(body: InspectionCreate, change: ThingChange) -> ThingDetail:
    """Record an inspection; for a hazard point, with its reassessed risk."""
    cmd = handlers.InspectThing(thing_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.inspect_thing(change.commands, cmd))


@router.post("/{thing_id}/resolve", response_model=ThingDetail)
async def resolve_hazard(body: HazardResolution, change: ThingChange) -> ThingDetail:
    """Record that a hazard point was dealt with; it is not inspected again."""
    cmd = handlers.ResolveHazard(thing_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.resolve_hazard(change.commands, cmd))


@router.post("/{thing_id}/remove", response_model=ThingDetail)
async def remove_thing(body: ThingRemoval, change: ThingChange) -> ThingDetail:
    """Record that a thing is gone; it stays on record with its inspections."""
    cmd = handlers.RemoveThing(thing_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.remove_thing(change.commands, cmd))


@router.get("/{thing_id}/history", response_model=HistoryPage)
async def thing_history(
    thing_id: uuid.UUID, principal: Reader, conn: ReadConnection, core: Core
) -> HistoryPage:
    """Every change of a thing, oldest first: registration, inspections, resolution, removal."""
    await detail(conn, core, principal, thing_id)
    return await stream_history(core.store, things.stream_id(thing_id))
