"""``/tickets``: the hotline pushes tickets in; staff and the hotline read them back.

The push is the hotline's own JSON (its wire format sits behind an adapter), signed with the
shared secret; the caller is also a bearer of the ``hotline_system`` role. The same push again
returns the first result; another push under a used number is a 409.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import Metadata
from wangge.events.projection import active_tables
from wangge.events.telemetry import current_traceparent
from wangge.governance.errors import NotFound
from wangge.governance.times import StoredTime
from wangge.hotline_bridge.adapters import ADAPTERS, Adapter
from wangge.hotline_bridge.bootstrap import HotlineCore
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.domain.catalogue import Category, DispatchCatalogue
from wangge.hotline_bridge.intake import grid_map, take_in
from wangge.hotline_bridge.personal_data import CallerKeys, opened
from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, verify
from wangge.service.app import ServiceState
from wangge.service.auth import Principal, require
from wangge.service.deps import ReadConnection, State

router = APIRouter(tags=["tickets"])
HOTLINE = "hotline_system"
STAFF = ("subdistrict_admin", "community_staff", "grid_worker")

Hotline = Annotated[Principal, Depends(require(HOTLINE))]
Reader = Annotated[Principal, Depends(require(HOTLINE, "subdistrict_admin"))]
Anyone = Annotated[Principal, Depends(require(HOTLINE, *STAFF))]


class TicketView(BaseModel):
    """A ticket as the hotline and staff see it (the caller masked). Its free texts (content,
    reply, staff's reason for a return) are the full ones while the ticket's data key lasts,
    their redacted copies once the caller was erased (and on tickets taken in before the texts
    were sealed)."""

    ticket_id: uuid.UUID
    ticket_number: str
    status: str
    channel: str
    received_at: StoredTime
    category: str
    category_name: str
    kind: str
    urgency: str
    content: str
    address: str
    longitude: float | None
    latitude: float | None
    deadline: StoredTime
    deadline_source: str
    caller_name_masked: str | None
    caller_phone_masked: str | None
    duplicate_of: uuid.UUID | None
    grid_id: uuid.UUID | None
    routing_method: str | None
    routing_detail: str | None
    triage_reasons: list[str] | None
    returned_reason: str | None
    extension_until: StoredTime | None
    reminder: str | None
    reply: str | None
    solved: bool | None
    at_source: bool | None
    delivery_status: str | None
    delivery_attempts: int
    satisfaction: str | None
    resolved: bool | None
    reopened: int
    caller_erased: bool = Field(
        description="the caller was erased: the texts shown are their redacted copies"
    )
    version: int


class CatalogueView(BaseModel):
    """The dispatch catalogue tickets are filed under, with each category's time limit."""

    name: str
    categories: list[Category]


def settings_of(request: Request) -> HotlineSettings:
    """The running service's settings."""
    settings = request.app.state.service.settings
    assert isinstance(settings, HotlineSettings)
    return settings


def core_of_request(request: Request) -> HotlineCore:
    """The hotline bridge's core (its bootstrap made it)."""
    core: HotlineCore = request.app.state.service.core
    return core


def catalogue_of(request: Request) -> DispatchCatalogue:
    """The dispatch catalogue the service was started with."""
    core: HotlineCore = request.app.state.service.core
    return core.catalogue


def adapter_of(request: Request) -> Adapter:
    """The adapter of the hotline's wire format the service was started with."""
    return ADAPTERS[settings_of(request).hotline_format]


async def signed_body(
    request: Request,
    timestamp: Annotated[
        str | None, Header(alias=TIMESTAMP, description="Unix time the push was signed at")
    ] = None,
    signature: Annotated[
        str | None,
        Header(alias=SIGNATURE, description='"sha256=" + hex HMAC of "<timestamp>.<body>"'),
    ] = None,
) -> bytes:
    """The push's raw body, once its signature holds (401 otherwise)."""
    settings = settings_of(request)
    body = await request.body()
    verify(
        settings.signing_secret(),
        timestamp=timestamp,
        signature=signature,
        body=body,
        now=time.time(),
        tolerance=settings.signature_tolerance_seconds,
    )
    return body


def keys_of(request: Request) -> CallerKeys:
    """The callers' key ring of the running service."""
    core: HotlineCore = request.app.state.service.core
    return core.keyring


Keys = Annotated[CallerKeys, Depends(keys_of)]


def view_of(row: Mapping[str, Any], key: bytes | None) -> TicketView:
    """A row of the tickets read model as the API shows it, its sealed texts opened with the
    ticket's data ``key`` (None: erased, the redacted copies are shown)."""
    return TicketView.model_validate(
        {
            **row,
            "content": opened(key, row["sealed_caller"], "content") or row["content"],
            "reply": opened(key, row["sealed_reply"], "reply") or row["reply"],
            "returned_reason": opened(key, row["sealed_returned_reason"], "reason")
            or row["returned_reason"],
            "caller_erased": row["caller_erased_at"] is not None,
        }
    )


async def views_of(
    conn: AsyncConnection, keys: CallerKeys, rows: Sequence[Mapping[str, Any]]
) -> list[TicketView]:
    """Rows of the tickets read model as the API shows them (their keys read in one query)."""
    found = await keys.keys(conn, [row["ticket_id"] for row in rows])
    return [view_of(row, found.get(row["ticket_id"])) for row in rows]


async def ticket_view(
    conn: AsyncConnection, state: ServiceState, ticket_id: uuid.UUID, keys: CallerKeys
) -> TicketView:
    """A ticket as read from the tickets read model (404 when there is none)."""
    t = (await active_tables(conn, state.service_projection("hotline_tickets")))["tickets"]
    row = (await conn.execute(sa.select(t).where(t.c.ticket_id == ticket_id))).mappings().first()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return view_of(dict(row), await keys.key(conn, ticket_id))


def _push_schema() -> dict[str, Any]:
    from wangge.hotline_bridge.adapters.standard import StandardTicket

    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": StandardTicket.model_json_schema()}},
        }
    }


@router.post(
    "/tickets",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketView,
    openapi_extra=_push_schema(),
    responses={200: {"model": TicketView, "description": "the same push again: its first result"}},
)
async def push_ticket(
    request: Request,
    response: Response,
    principal: Hotline,
    state: State,
    keys: Keys,
    body: Annotated[bytes, Depends(signed_body)],
) -> TicketView:
    """Take in a ticket the hotline pushes (受理): checked, its caller sealed, its deadline set."""
    intake = adapter_of(request).read(body)
    metadata = Metadata(
        actor=principal.subject,
        correlation_id=request.headers.get("X-Correlation-Id"),
        traceparent=current_traceparent(),
    )
    view, recorded = await take_in(
        state,
        intake,
        keyring=keys,
        queue=core_of_request(request).intakes,
        catalogue=catalogue_of(request),
        metadata=metadata,
        settings=settings_of(request),
        view=lambda conn, ticket_id, row: (
            _view_of(conn, keys, row)
            if row is not None
            else ticket_view(conn, state, ticket_id, keys)
        ),
    )
    if not recorded:
        response.status_code = status.HTTP_200_OK
    return view


async def _view_of(conn: AsyncConnection, keys: CallerKeys, row: Mapping[str, Any]) -> TicketView:
    # the intake's own transaction, where the ticket's key was kept
    return view_of(row, await keys.key(conn, row["ticket_id"]))


@router.get("/tickets/{ticket_id}", response_model=TicketView)
async def get_ticket(
    ticket_id: uuid.UUID, principal: Reader, conn: ReadConnection, state: State, keys: Keys
) -> TicketView:
    """A ticket, its caller masked: the hotline's own, or one of the grids in the caller's
    places (404 outside them, as for a ticket nobody pushed)."""
    view = await ticket_view(conn, state, ticket_id, keys)
    if not principal.has_any((HOTLINE,)) and not await covers(conn, state, principal, view.grid_id):
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return view


async def covers(
    conn: AsyncConnection, state: ServiceState, principal: Principal, grid_id: uuid.UUID | None
) -> bool:
    """Whether the caller's places cover a ticket of grid ``grid_id``; a ticket no grid took
    (triage, returned) is the subdistrict's and the communities' staff's."""
    if grid_id is None:
        return principal.has_any(("subdistrict_admin", "community_staff"))
    code = await grid_code_of(conn, state, grid_id)
    return code is not None and principal.covers(code)


async def grid_code_of(
    conn: AsyncConnection, state: ServiceState, grid_id: uuid.UUID
) -> str | None:
    """A grid's code, as the grid map knows it (None: no such grid, or no map yet)."""
    places = await grid_map(conn, state)
    if places is None:
        return None
    t = places["places"]
    code = await conn.scalar(sa.select(t.c.code).where(t.c.place_id == grid_id, t.c.kind == "grid"))
    return None if code is None else str(code)


@router.get("/catalogue", response_model=CatalogueView)
async def dispatch_catalogue(request: Request, principal: Anyone) -> CatalogueView:
    """The dispatch catalogue (派单目录): categories, kinds and time limits."""
    catalogue = catalogue_of(request)
    return CatalogueView(name=catalogue.name, categories=list(catalogue.categories))
