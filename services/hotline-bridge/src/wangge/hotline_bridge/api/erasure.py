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

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import read_only
from wangge.governance.erasure import Erasure
from wangge.governance.errors import NotFound
from wangge.governance.personal import PHONE_SCHEMA, normalise_phone
from wangge.hotline_bridge.api.deps import HOTLINE, Core, Erasers, covers, metadata_of
from wangge.hotline_bridge.bootstrap import HotlineCore
from wangge.hotline_bridge.handlers.callers import erase_callers
from wangge.hotline_bridge.projections.callers import tickets_of_phone
from wangge.hotline_bridge.projections.tickets import grids_of
from wangge.service.auth import Principal

router = APIRouter(tags=["erasure"])


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


async def _in_places(
    conn: AsyncConnection, core: HotlineCore, principal: Principal, ticket_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """The tickets among ``ticket_ids`` the caller may erase (the hotline: every one)."""
    if not ticket_ids:
        return []
    return [
        ticket_id
        for ticket_id, grid_id in await grids_of(conn, await core.tickets(conn), ticket_ids)
        if principal.has_any((HOTLINE,)) or await covers(conn, core, principal, grid_id)
    ]


@router.delete("/tickets/{ticket_id}/caller", response_model=CallerErasure)
async def erase_ticket_caller(
    ticket_id: uuid.UUID,
    body: Erasure,
    request: Request,
    principal: Erasers,
    core: Core,
) -> CallerErasure:
    """Erase the ticket's caller: the ticket's data key is destroyed, so its caller's name and
    phone and its full texts are unreadable everywhere; the redacted copies remain. Again: 200,
    nothing new."""
    async with read_only(core.store.engine) as conn:
        if not await _in_places(conn, core, principal, [ticket_id]):
            raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    commands = core.commands(metadata_of(request, principal))
    erased = await erase_callers(commands, core.keyring, [ticket_id], body.legal_ground)
    return CallerErasure(erased=len(erased), ticket_ids=[ticket_id])


@router.post("/callers/erasure", response_model=CallerErasure)
async def erase_callers_by_phone(
    body: PhoneErasure, request: Request, principal: Erasers, core: Core
) -> CallerErasure:
    """Erase the caller of every ticket (in the caller's places) called in from a phone number,
    found by its keyed hash. A number that matches nothing is a 200 with 0 erased. The number is
    posted in the body, never in a URL, so no access log keeps it."""
    phone = normalise_phone(body.phone, field="phone")
    phone_hash = core.keyring.phone_hash(phone)
    async with read_only(core.store.engine) as conn:
        called = await tickets_of_phone(conn, await core.phones(conn), phone_hash)
        found = await _in_places(conn, core, principal, called)
    commands = core.commands(metadata_of(request, principal))
    erased = await erase_callers(commands, core.keyring, found, body.legal_ground)
    return CallerErasure(erased=len(erased), ticket_ids=sorted(found))
