"""``/things``: key facilities (重点设施) and hazard points (安全隐患点), and their inspections."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from wangge.registry.api.access import Reader, Staff, ensure_visible, scope_filter
from wangge.registry.api.bounds import Page, Size
from wangge.registry.api.deps import ReadConnection
from wangge.registry.api.history import HistoryPage, stream_history
from wangge.registry.api.organisations import Reads
from wangge.registry.domain import things
from wangge.registry.domain.things import RiskLevel, ThingKind, ThingStatus
from wangge.registry.handlers import things as handlers
from wangge.service.auth import Principal
from wangge.service.commands import Command, set_etag
from wangge.service.deps import State

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


def _query(reads: Reads) -> sa.Select[Any]:
    t, pl = reads.things, reads.places
    return sa.select(t, pl.c.scope, pl.c.address.label("place_address")).select_from(
        t.join(pl, pl.c.place_id == t.c.place_id)
    )


async def detail(
    conn: ReadConnection, state: State, principal: Principal, thing_id: uuid.UUID
) -> ThingDetail:
    """A thing the caller may see (404 otherwise), with its inspections."""
    reads = await Reads.of(conn, state)
    row = (await conn.execute(_query(reads).where(reads.things.c.thing_id == thing_id))).first()
    ensure_visible(principal, row.scope if row is not None else None, f"thing {thing_id}")
    i = reads.inspections
    rows = await conn.execute(
        sa.select(i).where(i.c.thing_id == thing_id).order_by(i.c.on.desc(), i.c.version.desc())
    )
    return ThingDetail.model_validate(
        {
            **row._mapping,
            "inspections": [InspectionRead.model_validate(r, from_attributes=True) for r in rows],
        }
    )


async def _respond(
    conn: ReadConnection, state: State, principal: Principal, response: Response,
    thing_id: uuid.UUID,
) -> ThingDetail:  # fmt: skip
    await conn.rollback()  # a snapshot that sees the command's commit
    result = await detail(conn, state, principal, thing_id)
    set_etag(response, result.version)
    return result


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ThingDetail)
async def register_thing(
    body: ThingCreate, principal: Staff, command: Command, conn: ReadConnection, state: State,
    response: Response,
) -> ThingDetail:  # fmt: skip
    """Register a key facility or hazard point at a place in the caller's places."""
    reads = await Reads.of(conn, state)
    await reads.place_in_scope(conn, principal, body.place_id, "place_id")
    if body.responsible_organisation_id is not None:
        await reads.organisation(
            conn, principal, body.responsible_organisation_id, "responsible_organisation_id"
        )
    result = await handlers.register_thing(command.commands, handlers.RegisterThing(**dict(body)))
    thing_id = uuid.UUID(result.stream_id.removeprefix("thing-"))
    response.headers["Location"] = f"/things/{thing_id}"
    return await _respond(conn, state, principal, response, thing_id)


@router.get("", response_model=ThingPage)
async def list_things(
    principal: Reader,
    conn: ReadConnection,
    state: State,
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
    reads = await Reads.of(conn, state)
    t = reads.things
    query = _query(reads).where(scope_filter(principal, reads.places.c.scope))
    if kind is not None:
        query = query.where(t.c.kind == kind.value)
    if category is not None:
        query = query.where(t.c.category == category)
    if thing_status is not None:
        query = query.where(t.c.status == thing_status.value)
    if risk_level is not None:
        query = query.where(t.c.risk_level == risk_level.value)
    if place_id is not None:
        query = query.where(t.c.place_id == place_id)
    if responsible_organisation_id is not None:
        query = query.where(t.c.responsible_organisation_id == responsible_organisation_id)
    total = await conn.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = await conn.execute(
        query.order_by(reads.places.c.address, t.c.name, t.c.thing_id)
        .offset((page - 1) * size)
        .limit(size)
    )
    items = [ThingRead.model_validate(r, from_attributes=True) for r in rows]
    return ThingPage(items=items, total=int(total or 0), page=page, size=size)


@router.get("/{thing_id}", response_model=ThingDetail)
async def read_thing(
    thing_id: uuid.UUID, principal: Reader, conn: ReadConnection, state: State, response: Response
) -> ThingDetail:
    """One thing with its inspections; its ETag is the version to send back as If-Match."""
    result = await detail(conn, state, principal, thing_id)
    set_etag(response, result.version)
    return result


@router.post("/{thing_id}/inspections", response_model=ThingDetail)
async def inspect_thing(
    thing_id: uuid.UUID, body: InspectionCreate, principal: Staff, command: Command,
    conn: ReadConnection, state: State, response: Response,
) -> ThingDetail:  # fmt: skip
    """Record an inspection; for a hazard point, with its reassessed risk."""
    await detail(conn, state, principal, thing_id)
    await handlers.inspect_thing(
        command.commands, handlers.InspectThing(thing_id=thing_id, **dict(body))
    )
    return await _respond(conn, state, principal, response, thing_id)


@router.post("/{thing_id}/resolve", response_model=ThingDetail)
async def resolve_hazard(
    thing_id: uuid.UUID, body: HazardResolution, principal: Staff, command: Command,
    conn: ReadConnection, state: State, response: Response,
) -> ThingDetail:  # fmt: skip
    """Record that a hazard point was dealt with; it is not inspected again."""
    await detail(conn, state, principal, thing_id)
    await handlers.resolve_hazard(
        command.commands, handlers.ResolveHazard(thing_id=thing_id, **dict(body))
    )
    return await _respond(conn, state, principal, response, thing_id)


@router.post("/{thing_id}/remove", response_model=ThingDetail)
async def remove_thing(
    thing_id: uuid.UUID, body: ThingRemoval, principal: Staff, command: Command,
    conn: ReadConnection, state: State, response: Response,
) -> ThingDetail:  # fmt: skip
    """Record that a thing is gone; it stays on record with its inspections."""
    await detail(conn, state, principal, thing_id)
    await handlers.remove_thing(
        command.commands, handlers.RemoveThing(thing_id=thing_id, **dict(body))
    )
    return await _respond(conn, state, principal, response, thing_id)


@router.get("/{thing_id}/history", response_model=HistoryPage)
async def thing_history(
    thing_id: uuid.UUID, principal: Reader, conn: ReadConnection, state: State
) -> HistoryPage:
    """Every change of a thing, oldest first: registration, inspections, resolution, removal."""
    await detail(conn, state, principal, thing_id)
    return await stream_history(state.store, things.stream_id(thing_id))
