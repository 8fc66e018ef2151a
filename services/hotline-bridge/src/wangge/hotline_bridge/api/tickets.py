"""``/tickets``: the hotline pushes tickets in; staff and the hotline read them back.

The push is the hotline's own JSON (its wire format sits behind an adapter), signed with the
shared secret; the caller is also a bearer of the ``hotline_system`` role. The same push again
returns the first result; another push under a used number is a 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import NotFound
from wangge.governance.times import StoredTime
from wangge.hotline_bridge.api.deps import (
    HOTLINE,
    Anyone,
    Catalogue,
    Core,
    Hotline,
    Reader,
    SignedBody,
    WireFormat,
    covers,
    metadata_of,
)
from wangge.hotline_bridge.bootstrap import HotlineCore
from wangge.hotline_bridge.domain.catalogue import Category
from wangge.hotline_bridge.handlers.intake import NewTicket, take_in
from wangge.hotline_bridge.monitoring import RECEIVED, REPEATED
from wangge.hotline_bridge.personal_data import CallerKeys, opened
from wangge.hotline_bridge.projections.tickets import ticket_row
from wangge.service.deps import ReadConnection

router = APIRouter(tags=["tickets"])


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


async def ticket_view(conn: AsyncConnection, core: HotlineCore, ticket_id: uuid.UUID) -> TicketView:
    """A ticket as read from the tickets read model (404 when there is none)."""
    row = await ticket_row(conn, await core.tickets(conn), ticket_id)
    if row is None:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return view_of(row, await core.keyring.key(conn, ticket_id))


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
    core: Core,
    wire: WireFormat,
    body: SignedBody,
) -> TicketView:
    """Take in a ticket the hotline pushes (受理): checked, its caller sealed, its deadline set."""
    intake = wire.read(body)
    view, recorded = await take_in(
        core.commands(metadata_of(request, principal)),
        intake,
        keyring=core.keyring,
        queue=core.intakes,
        catalogue=core.catalogue,
        settings=core.settings,
        view=lambda conn, ticket_id, new: (
            _view_of(new) if new is not None else ticket_view(conn, core, ticket_id)
        ),
    )
    if not recorded:
        response.status_code = status.HTTP_200_OK
    RECEIVED.labels(view.status if recorded else REPEATED).inc()
    return view


async def _view_of(new: NewTicket) -> TicketView:
    return view_of(new.row, new.key)


@router.get("/tickets/{ticket_id}", response_model=TicketView)
async def get_ticket(
    ticket_id: uuid.UUID, principal: Reader, conn: ReadConnection, core: Core
) -> TicketView:
    """A ticket, its caller masked: the hotline's own, or one of the grids in the caller's
    places (404 outside them, as for a ticket nobody pushed)."""
    view = await ticket_view(conn, core, ticket_id)
    if not principal.has_any((HOTLINE,)) and not await covers(conn, core, principal, view.grid_id):
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return view


@router.get("/catalogue", response_model=CatalogueView)
async def dispatch_catalogue(principal: Anyone, catalogue: Catalogue) -> CatalogueView:
    """The dispatch catalogue (派单目录): categories, kinds and time limits."""
    return CatalogueView(name=catalogue.name, categories=list(catalogue.categories))
