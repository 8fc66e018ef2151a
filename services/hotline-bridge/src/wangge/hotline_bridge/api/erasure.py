"""Erasing callers (crypto-shredding), as the hotline README promises: by ticket, or every
ticket of a phone number.

Who: subdistrict admins, for the tickets of their places (and those no grid took), as the
subdistrict's controller of the personal data (DESIGN section 7); and the hotline system, for
any ticket, because a caller asks the 12345 platform and the platform forwards the request.
The body carries the legal ground (``wangge.governance.erasure.Erasure``); the envelope of each
``CallerErased`` names who asked. An erasure by phone answers the same shape whether it found
tickets or none, so it tells nothing about a number nobody called from.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import Metadata
from wangge.events.db import read_only
from wangge.events.projection import active_tables
from wangge.events.telemetry import current_traceparent
from wangge.governance.erasure import Erasure
from wangge.governance.errors import NotFound
from wangge.governance.personal import PHONE_SCHEMA, normalise_phone
from wangge.hotline_bridge.api.tickets import HOTLINE, Keys, covers
from wangge.hotline_bridge.personal_data import CallerKeys
from wangge.hotline_bridge.projections.callers import CallerPhones
from wangge.hotline_bridge.projections.tickets import Tickets
from wangge.hotline_bridge.ticket_commands import erase_callers
from wangge.service.app import ServiceState
from wangge.service.auth import Principal, require
from wangge.service.deps import State

router = APIRouter(tags=["erasure"])
Erasers = Annotated[Principal, Depends(require("subdistrict_admin", HOTLINE))]


class PhoneErasure(Erasure):
    """Erase every caller who called from a phone number, on a legal ground."""

    phone: str = Field(
        min_length=1,
        max_length=30,
        description="as the caller gives it (13812345678, +86…)",
        json_schema_extra=PHONE_SCHEMA,
    )


class CallerErasure(BaseModel):
    """What an erasure did."""

    erased: int = Field(description="callers this request erased (0: none, or erased before)")
    ticket_ids: list[uuid.UUID] = Field(
        description="the tickets of the request whose caller is erased now, by it or before"
    )


def _metadata(request: Request, principal: Principal) -> Metadata:
    return Metadata(
        actor=principal.subject,
        correlation_id=request.headers.get("X-Correlation-Id"),
        traceparent=current_traceparent(),
    )


async def _in_places(
    conn: AsyncConnection, state: ServiceState, principal: Principal, ticket_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """The tickets among ``ticket_ids`` the caller may erase (the hotline: every one)."""
    if not ticket_ids:
        return []
    t = (await active_tables(conn, state.service_projection(Tickets.name)))["tickets"]
    rows = (
        await conn.execute(
            sa.select(t.c.ticket_id, t.c.grid_id).where(t.c.ticket_id.in_(ticket_ids))
        )
    ).all()
    return [
        row.ticket_id
        for row in rows
        if principal.has_any((HOTLINE,)) or await covers(conn, state, principal, row.grid_id)
    ]


async def _of_phone(
    conn: AsyncConnection, state: ServiceState, keys: CallerKeys, phone: str
) -> list[uuid.UUID]:
    t = (await active_tables(conn, state.service_projection(CallerPhones.name)))["phones"]
    found = await conn.scalars(
        sa.select(t.c.ticket_id).where(t.c.phone_hash == keys.phone_hash(phone))
    )
    return sorted(found)


@router.delete("/tickets/{ticket_id}/caller", response_model=CallerErasure)
async def erase_ticket_caller(
    ticket_id: uuid.UUID,
    body: Erasure,
    request: Request,
    principal: Erasers,
    state: State,
    keys: Keys,
) -> CallerErasure:
    """Erase the ticket's caller: the ticket's data key is destroyed, so its caller's name and
    phone and its full texts are unreadable everywhere; the redacted copies remain. Again: 200,
    nothing new."""
    async with read_only(state.engine) as conn:
        if not await _in_places(conn, state, principal, [ticket_id]):
            raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    erased = await erase_callers(
        state, keys, [ticket_id], body.legal_ground, metadata=_metadata(request, principal)
    )
    return CallerErasure(erased=len(erased), ticket_ids=[ticket_id])


@router.post("/callers/erasure", response_model=CallerErasure)
async def erase_callers_by_phone(
    body: PhoneErasure, request: Request, principal: Erasers, state: State, keys: Keys
) -> CallerErasure:
    """Erase the caller of every ticket (in the caller's places) called in from a phone number,
    found by its keyed hash. A number that matches nothing is a 200 with 0 erased. The number is
    posted in the body, never in a URL, so no access log keeps it."""
    phone = normalise_phone(body.phone, field="phone")
    async with read_only(state.engine) as conn:
        found = await _in_places(conn, state, principal, await _of_phone(conn, state, keys, phone))
    erased = await erase_callers(
        state, keys, found, body.legal_ground, metadata=_metadata(request, principal)
    )
    return CallerErasure(erased=len(erased), ticket_ids=sorted(found))
