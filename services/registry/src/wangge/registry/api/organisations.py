"""``/organisations``: enterprises, social organisations and others at a place (组织).

A contact person's name and phone are shown unmasked only on one organisation's read, and only
to staff (like a person's personal data; departments get the masks): lists and histories show
masks. A contact is erased by a subdistrict admin, as a person is.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent
from wangge.events.sealing import Sealed
from wangge.governance.erasure import Erasure
from wangge.governance.errors import NotFound
from wangge.governance.personal import PHONE_SCHEMA
from wangge.governance.redaction import redact
from wangge.registry.api.access import ADMINS, STAFF, Reader, Staff, in_scope
from wangge.registry.api.bounds import Page, Size
from wangge.registry.api.changes import Change, answer, changes, path_id
from wangge.registry.api.deps import Core, Keys, ReadConnection
from wangge.registry.api.history import HistoryPage, stream_history
from wangge.registry.api.people import place_in_scope
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.domain import organisations
from wangge.registry.domain.identity import mask_name, mask_phone
from wangge.registry.domain.organisations import ContactDetails, OrganisationKind
from wangge.registry.handlers import organisations as handlers
from wangge.registry.personal_data import KeyRing
from wangge.registry.projections import organisations as tables
from wangge.registry.projections.views import Views
from wangge.service.auth import Principal
from wangge.service.commands import Command, set_etag

router = APIRouter(prefix="/organisations", tags=["organisations"])

USCC = Field(min_length=1, max_length=30, description="统一社会信用代码, GB 32100-2015")
NAME = Field(min_length=1, max_length=200)
ADDRESS = Field(default=None, max_length=400, description="free text, as on its licence")
CONTACT_NAME = Field(default=None, max_length=100)
CONTACT_PHONE = Field(
    default=None, max_length=30, description="mobile or landline", json_schema_extra=PHONE_SCHEMA
)


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
    """An organisation as the register holds it; its contact person masked, but for staff
    reading this one organisation."""

    organisation_id: uuid.UUID
    uscc: str
    name: str
    kind: OrganisationKind
    place_id: uuid.UUID
    place_address: str = Field(description="the address of its place in the tree")
    address: str | None
    contact_id: uuid.UUID | None = Field(
        default=None, description="the contact person's id (to erase them)"
    )
    contact_name_masked: str | None = None
    contact_phone_masked: str | None = None
    contact_erased: bool = False
    contact_name: str | None = Field(
        default=None, description="unmasked: only staff reading one organisation; else null"
    )
    contact_phone: str | None = Field(
        default=None, description="E.164, unmasked: as `contact_name`"
    )
    closed_on: date | None
    scope: str = Field(description="the code access is checked against (its place's grid)")
    version: int


class OrganisationPage(BaseModel):
    """One page of organisations."""

    items: list[OrganisationRead]
    total: int
    page: int
    size: int


async def visible_organisation(
    conn: AsyncConnection, views: Views, principal: Principal, organisation_id: uuid.UUID,
    field: str | None = None,
) -> Any:  # fmt: skip
    """An organisation's row the caller may see (404, naming ``field`` if given)."""
    row = await tables.organisation(conn, views.organisations, views.places, organisation_id)
    if row is None or not in_scope(principal, row.scope):
        raise NotFound(f"no organisation {organisation_id}", field=field)
    return row


def _read(row: Any) -> OrganisationRead:
    """The masked read (the row's own contact columns are never taken as they are)."""
    read = OrganisationRead.model_validate(row, from_attributes=True)
    read.contact_name = read.contact_phone = None
    return read


async def _unmasked(
    conn: AsyncConnection, keys: KeyRing, principal: Principal, row: Any
) -> OrganisationRead:
    """One organisation's read, its contact unmasked for staff while the contact's key lives
    (or, for a contact written in clear before sealing, until their erasure)."""
    read = _read(row)
    if not principal.has_any(STAFF) or row.contact_erased or row.contact_id is None:
        return read
    contact = None
    if row.contact_sealed is not None:
        key = await keys.contacts.key(conn, row.contact_id)
        if key is not None:
            sealed = Sealed.model_validate_json(row.contact_sealed)
            contact = ContactDetails.model_validate(keys.contacts.unseal(key, sealed))
    elif row.legacy_contact_name or row.legacy_contact_phone:
        contact = ContactDetails(name=row.legacy_contact_name, phone=row.legacy_contact_phone)
    if contact is not None:
        read.contact_name, read.contact_phone = contact.name, contact.phone
    return read


async def _visible(
    conn: ReadConnection, core: Core, principal: Principal, organisation_id: uuid.UUID
) -> tuple[Views, Any]:
    views = await Views.of(conn, core)
    return views, await visible_organisation(conn, views, principal, organisation_id)


async def _organisation(
    conn: AsyncConnection, core: RegistryCore, principal: Principal, organisation_id: uuid.UUID
) -> OrganisationRead:
    _, row = await _visible(conn, core, principal, organisation_id)
    return await _unmasked(conn, core.keyring, principal, row)


OrganisationChange = Annotated[
    Change[OrganisationRead], changes(_organisation, "organisation_id", *STAFF)
]
AdminChange = Annotated[
    Change[OrganisationRead], changes(_organisation, "organisation_id", *ADMINS)
]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrganisationRead)
async def register_organisation(
    body: OrganisationCreate, principal: Staff, command: Command, keys: Keys,
    conn: ReadConnection, core: Core, response: Response,
) -> OrganisationRead:  # fmt: skip
    """Register an organisation at a place in the caller's places; one code, one organisation.

    Its contact person's name and phone are sealed under a data key of their own."""
    views = await Views.of(conn, core)
    await place_in_scope(conn, views, principal, body.place_id, field="place_id")
    result = await handlers.register_organisation(
        command.commands, keys, handlers.RegisterOrganisation(**dict(body))
    )
    organisation_id = uuid.UUID(result.stream_id.removeprefix("organisation-"))
    response.headers["Location"] = f"/organisations/{organisation_id}"
    return await answer(_organisation, conn, core, principal, response, organisation_id)


@router.get("", response_model=OrganisationPage)
async def list_organisations(
    principal: Reader,
    conn: ReadConnection,
    core: Core,
    kind: OrganisationKind | None = None,
    place_id: Annotated[uuid.UUID | None, Query(description="at this place")] = None,
    uscc: Annotated[str | None, Query(max_length=30)] = None,
    closed: Annotated[bool | None, Query(description="closed ones, or open ones only")] = None,
    page: Page = 1,
    size: Size = 50,
) -> OrganisationPage:
    """Organisations in the caller's places, filtered by kind, place, code or closing; their
    contact persons masked."""
    views = await Views.of(conn, core)
    rows, total = await tables.organisations_page(
        conn, views.organisations, views.places, within=principal.places,
        kind=kind.value if kind is not None else None, place_id=place_id, uscc=uscc,
        closed=closed, page=page, size=size,
    )  # fmt: skip
    items = [_read(r) for r in rows]
    return OrganisationPage(items=items, total=total, page=page, size=size)


@router.get("/{organisation_id}", response_model=OrganisationRead)
async def read_organisation(
    organisation_id: uuid.UUID,
    principal: Reader,
    keys: Keys,
    conn: ReadConnection,
    core: Core,
    response: Response,
) -> OrganisationRead:
    """One organisation; its contact person unmasked for staff, masked for departments. Its
    ETag is the version for If-Match."""
    _, row = await _visible(conn, core, principal, organisation_id)
    set_etag(response, row.version)
    return await _unmasked(conn, keys, principal, row)


@router.patch("/{organisation_id}", response_model=OrganisationRead)
async def change_organisation_details(
    body: OrganisationUpdate, change: OrganisationChange
) -> OrganisationRead:
    """Change an organisation's name, kind, address or contact (send If-Match).

    A contact with the current contact's name is the same person (their key is kept); another
    name is another person, with a key of their own."""
    cmd = handlers.ChangeOrganisationDetails(
        organisation_id=change.record_id, **body.model_dump(exclude_unset=True)
    )
    keys = change.core.keyring
    return await change.run(
        lambda: handlers.change_organisation_details(change.commands, keys, cmd)
    )


@router.post("/{organisation_id}/move", response_model=OrganisationRead)
async def move_organisation(body: OrganisationMove, change: OrganisationChange) -> OrganisationRead:
    """Move an organisation to another place in the caller's places."""
    cmd = handlers.MoveOrganisation(organisation_id=change.record_id, place_id=body.place_id)

    async def move() -> None:
        views = await Views.of(change.conn, change.core)
        await place_in_scope(change.conn, views, change.principal, body.place_id, field="place_id")
        await handlers.move_organisation(change.commands, cmd)

    return await change.run(move)


@router.post("/{organisation_id}/close", response_model=OrganisationRead)
async def close_organisation(
    body: OrganisationClose, change: OrganisationChange
) -> OrganisationRead:
    """Record that an organisation closed; it stays on record and no longer changes."""
    cmd = handlers.CloseOrganisation(organisation_id=change.record_id, **dict(body))
    return await change.run(lambda: handlers.close_organisation(change.commands, cmd))


@router.delete("/{organisation_id}/contacts/{contact_id}", response_model=OrganisationRead)
async def erase_contact(
    body: Erasure, change: AdminChange,
    contact_id: Annotated[uuid.UUID, path_id("contact_id")],
) -> OrganisationRead:  # fmt: skip
    """Erase a contact person, current or former (crypto-shredding): their key is destroyed
    for good, and a contact written in clear before sealing is dropped from every read. Once
    is enough: erasing again changes nothing. An id the organisation never had is a 404."""
    cmd = handlers.EraseContact(
        organisation_id=change.record_id, contact_id=contact_id, legal_ground=body.legal_ground
    )
    keys = change.core.keyring
    return await change.run(lambda: handlers.erase_contact(change.commands, keys, cmd))


_MASKS = {"contact_name": mask_name, "contact_phone": mask_phone, "reason": redact}
"""What a history shows of fields events written before sealing carry in clear."""


def _shown(event: DomainEvent) -> dict[str, Any]:
    # a contact is shown masked in a history, to everyone: its sealed block stays sealed
    data = event.model_dump(mode="json", exclude_none=True)
    for field, mask in _MASKS.items():
        if field in data:
            data[field] = mask(data[field])
    if "contact" in data:
        data["contact"] = "(sealed)"
    return data


@router.get("/{organisation_id}/history", response_model=HistoryPage)
async def organisation_history(
    organisation_id: uuid.UUID, principal: Reader, conn: ReadConnection, core: Core
) -> HistoryPage:
    """Every change of an organisation, oldest first (contact persons masked)."""
    await _visible(conn, core, principal, organisation_id)
    return await stream_history(core.store, organisations.stream_id(organisation_id), show=_shown)
