"""``/organisations``: enterprises, social organisations and others at a place (组织)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent
from wangge.registry.api.access import Reader, Staff, in_scope, scope_filter
from wangge.registry.api.bounds import Page, Size
from wangge.registry.api.deps import ReadConnection
from wangge.registry.api.history import HistoryPage, stream_history
from wangge.registry.api.people import Views
from wangge.registry.domain import organisations
from wangge.registry.domain.identity import mask_phone
from wangge.registry.domain.organisations import OrganisationKind
from wangge.registry.handlers import organisations as handlers
from wangge.registry.projections.organisations import OrganisationsAndThings
from wangge.service.app import ServiceState
from wangge.service.auth import Principal
from wangge.service.commands import Command, set_etag
from wangge.service.deps import State
from wangge.service.errors import NotFound

router = APIRouter(prefix="/organisations", tags=["organisations"])

USCC = Field(min_length=1, max_length=30, description="统一社会信用代码, GB 32100-2015")
NAME = Field(min_length=1, max_length=200)
ADDRESS = Field(default=None, max_length=400, description="free text, as on its licence")
CONTACT_NAME = Field(default=None, max_length=100)
CONTACT_PHONE = Field(default=None, max_length=30, description="mobile or landline")


class OrganisationCreate(BaseModel):
    """An organisation to register at a grid, building or dwelling."""

    uscc: str = USCC
    name: str = NAME
    kind: OrganisationKind
    place_id: uuid.UUID = Field(description="the grid, building or dwelling it sits at")
    address: str | None = ADDRESS
    contact_name: str | None = CONTACT_NAME
    contact_phone: str | None = CONTACT_PHONE


class OrganisationUpdate(BaseModel):
    """New details: fields left out keep their value; ``null`` clears address and contact."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: OrganisationKind | None = None
    address: str | None = ADDRESS
    contact_name: str | None = CONTACT_NAME
    contact_phone: str | None = CONTACT_PHONE


class OrganisationMove(BaseModel):
    """The place an organisation moves to."""

    place_id: uuid.UUID


class OrganisationClose(BaseModel):
    """An organisation's closing (注销, 歇业)."""

    on: date
    reason: str = Field(min_length=1, max_length=500)


class OrganisationRead(BaseModel):
    """An organisation as the register holds it; its contact phone masked."""

    organisation_id: uuid.UUID
    uscc: str
    name: str
    kind: OrganisationKind
    place_id: uuid.UUID
    place_address: str = Field(description="the address of its place in the tree")
    address: str | None
    contact_name: str | None
    contact_phone_masked: str | None
    closed_on: date | None
    scope: str = Field(description="the code access is checked against (its place's grid)")
    version: int


class OrganisationPage(BaseModel):
    """One page of organisations."""

    items: list[OrganisationRead]
    total: int
    page: int
    size: int


class Reads:
    """The active tables an organisation or thing route reads: its own and the place tree's."""

    def __init__(self, views: Views, own: Any) -> None:
        self.views = views
        self.places: sa.Table = views.places
        self.organisations: sa.Table = own["organisations"]
        self.things: sa.Table = own["things"]
        self.inspections: sa.Table = own["inspections"]

    @classmethod
    async def of(cls, conn: AsyncConnection, state: ServiceState) -> Reads:
        """The tables of a running registry."""
        views = await Views.of(conn, state)  # its one query found every generation
        own = state.service_projection(OrganisationsAndThings.name)
        return cls(views, own.tables(views.generations[own.name]))

    def organisation_query(self) -> sa.Select[Any]:
        """Organisations with the scope and address of their place."""
        o, pl = self.organisations, self.places
        return sa.select(o, pl.c.scope, pl.c.address.label("place_address")).select_from(
            o.join(pl, pl.c.place_id == o.c.place_id)
        )

    async def place_in_scope(
        self, conn: AsyncConnection, principal: Principal, place_id: uuid.UUID, field: str
    ) -> None:
        """404 naming ``field`` unless the place lies in the caller's places."""
        await self.views.place_in_scope(conn, principal, place_id, field=field)

    async def organisation(
        self, conn: AsyncConnection, principal: Principal, organisation_id: uuid.UUID,
        field: str | None = None,
    ) -> Any:  # fmt: skip
        """An organisation's row the caller may see (404, naming ``field`` if given)."""
        row = (
            await conn.execute(
                self.organisation_query().where(
                    self.organisations.c.organisation_id == organisation_id
                )
            )
        ).first()
        if row is None or not in_scope(principal, row.scope):
            raise NotFound(f"no organisation {organisation_id}", field=field)
        return row


def _read(row: Any) -> OrganisationRead:
    return OrganisationRead.model_validate(row, from_attributes=True)


async def _visible(
    conn: ReadConnection, state: State, principal: Principal, organisation_id: uuid.UUID
) -> tuple[Reads, Any]:
    reads = await Reads.of(conn, state)
    return reads, await reads.organisation(conn, principal, organisation_id)


async def _respond(
    conn: ReadConnection, state: State, principal: Principal, response: Response,
    organisation_id: uuid.UUID,
) -> OrganisationRead:  # fmt: skip
    await conn.rollback()  # a snapshot that sees the command's commit
    _, row = await _visible(conn, state, principal, organisation_id)
    set_etag(response, row.version)
    return _read(row)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrganisationRead)
async def register_organisation(
    body: OrganisationCreate, principal: Staff, command: Command, conn: ReadConnection,
    state: State, response: Response,
) -> OrganisationRead:  # fmt: skip
    """Register an organisation at a place in the caller's places; one code, one organisation."""
    reads = await Reads.of(conn, state)
    await reads.place_in_scope(conn, principal, body.place_id, "place_id")
    result = await handlers.register_organisation(
        command, handlers.RegisterOrganisation(**dict(body))
    )
    organisation_id = uuid.UUID(result.stream_id.removeprefix("organisation-"))
    response.headers["Location"] = f"/organisations/{organisation_id}"
    return await _respond(conn, state, principal, response, organisation_id)


@router.get("", response_model=OrganisationPage)
async def list_organisations(
    principal: Reader,
    conn: ReadConnection,
    state: State,
    kind: OrganisationKind | None = None,
    place_id: Annotated[uuid.UUID | None, Query(description="at this place")] = None,
    uscc: Annotated[str | None, Query(max_length=30)] = None,
    closed: Annotated[bool | None, Query(description="closed ones, or open ones only")] = None,
    page: Page = 1,
    size: Size = 50,
) -> OrganisationPage:
    """Organisations in the caller's places, filtered by kind, place, code or closing."""
    reads = await Reads.of(conn, state)
    o = reads.organisations
    query = reads.organisation_query().where(scope_filter(principal, reads.places.c.scope))
    if kind is not None:
        query = query.where(o.c.kind == kind.value)
    if place_id is not None:
        query = query.where(o.c.place_id == place_id)
    if uscc is not None:
        query = query.where(o.c.uscc == organisations.compact_uscc(uscc))
    if closed is not None:
        query = query.where(o.c.closed_on.is_not(None) if closed else o.c.closed_on.is_(None))
    total = await conn.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = await conn.execute(
        query.order_by(o.c.name, o.c.organisation_id).offset((page - 1) * size).limit(size)
    )
    items = [_read(r) for r in rows]
    return OrganisationPage(items=items, total=int(total or 0), page=page, size=size)


@router.get("/{organisation_id}", response_model=OrganisationRead)
async def read_organisation(
    organisation_id: uuid.UUID,
    principal: Reader,
    conn: ReadConnection,
    state: State,
    response: Response,
) -> OrganisationRead:
    """One organisation, its contact phone masked; its ETag is the version for If-Match."""
    _, row = await _visible(conn, state, principal, organisation_id)
    set_etag(response, row.version)
    return _read(row)


@router.patch("/{organisation_id}", response_model=OrganisationRead)
async def change_organisation_details(
    organisation_id: uuid.UUID, body: OrganisationUpdate, principal: Staff, command: Command,
    conn: ReadConnection, state: State, response: Response,
) -> OrganisationRead:  # fmt: skip
    """Change an organisation's name, kind, address or contact (send If-Match)."""
    await _visible(conn, state, principal, organisation_id)
    cmd = handlers.ChangeOrganisationDetails(
        organisation_id=organisation_id, **body.model_dump(exclude_unset=True)
    )
    await handlers.change_organisation_details(command, cmd)
    return await _respond(conn, state, principal, response, organisation_id)


@router.post("/{organisation_id}/move", response_model=OrganisationRead)
async def move_organisation(
    organisation_id: uuid.UUID, body: OrganisationMove, principal: Staff, command: Command,
    conn: ReadConnection, state: State, response: Response,
) -> OrganisationRead:  # fmt: skip
    """Move an organisation to another place in the caller's places."""
    reads, _ = await _visible(conn, state, principal, organisation_id)
    await reads.place_in_scope(conn, principal, body.place_id, "place_id")
    await handlers.move_organisation(
        command, handlers.MoveOrganisation(organisation_id=organisation_id, place_id=body.place_id)
    )
    return await _respond(conn, state, principal, response, organisation_id)


@router.post("/{organisation_id}/close", response_model=OrganisationRead)
async def close_organisation(
    organisation_id: uuid.UUID, body: OrganisationClose, principal: Staff, command: Command,
    conn: ReadConnection, state: State, response: Response,
) -> OrganisationRead:  # fmt: skip
    """Record that an organisation closed; it stays on record and no longer changes."""
    await _visible(conn, state, principal, organisation_id)
    await handlers.close_organisation(
        command, handlers.CloseOrganisation(organisation_id=organisation_id, **dict(body))
    )
    return await _respond(conn, state, principal, response, organisation_id)


def _shown(event: DomainEvent) -> dict[str, Any]:
    # a contact phone is shown masked in a history too, as everywhere else
    data = event.model_dump(mode="json", exclude_none=True)
    if "contact_phone" in data:
        data["contact_phone"] = mask_phone(data["contact_phone"])
    return data


@router.get("/{organisation_id}/history", response_model=HistoryPage)
async def organisation_history(
    organisation_id: uuid.UUID, principal: Reader, conn: ReadConnection, state: State
) -> HistoryPage:
    """Every change of an organisation, oldest first (contact phones masked)."""
    await _visible(conn, state, principal, organisation_id)
    return await stream_history(state.store, organisations.stream_id(organisation_id), show=_shown)
