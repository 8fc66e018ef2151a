"""A ticket's handling after intake: triage, acceptance (签收), extension (延期), reply, return
(退单); and what the hotline sends back the same signed way: follow-ups (回访) and extension
decisions.

Grid staff act on tickets of the grids their token covers; triage is the subdistrict's and the
communities' staff's. Every step is an event on the ticket's stream, checked by the domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel

from wangge.events.command import CommandRunner
from wangge.events.db import read_only
from wangge.governance.errors import DomainError, NotFound
from wangge.hotline_bridge.adapters.standard import StandardExtensionDecision, StandardFollowUp
from wangge.hotline_bridge.api.deps import (
    Core,
    GridStaff,
    Hotline,
    SignedBody,
    Triage,
    WireFormat,
    covers,
    metadata_of,
)
from wangge.hotline_bridge.api.tickets import TicketView, ticket_view, views_of
from wangge.hotline_bridge.bootstrap import HotlineCore
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.handlers import tickets as handle
from wangge.hotline_bridge.handlers.tickets import ExtensionRequest, Reply, Return, RouteByHand
from wangge.hotline_bridge.projections.grid_map import grid_code_of
from wangge.hotline_bridge.projections.tickets import in_triage, ticket_row
from wangge.hotline_bridge.signing import SIGNATURE
from wangge.service.auth import Principal
from wangge.service.commands import Command
from wangge.service.deps import ReadConnection
from wangge.service.responses import problems

router = APIRouter(tags=["handling"])
Route = TypeVar("Route", bound=Callable[..., Any])


class TriagePage(BaseModel):
    """Tickets no rule could route, oldest first."""

    items: list[TicketView]


class UnknownGrid(DomainError):
    """The grid is not in the grid map."""

    slug = "unknown-grid"
    title = "No such grid in the subdistrict"


async def _may_handle(core: HotlineCore, principal: Principal, ticket_id: uuid.UUID) -> None:
    """The caller's places cover the ticket's grid (triage: subdistrict and community staff)."""
    async with read_only(core.store.engine) as conn:
        row = await ticket_row(conn, await core.tickets(conn), ticket_id)
        if row is None:
            raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
        if not await covers(conn, core, principal, row["grid_id"]):
            raise NotFound(f"no ticket {ticket_id}", field="ticket_id")  # not theirs to see


async def _done(core: HotlineCore, ticket_id: uuid.UUID) -> TicketView:
    async with read_only(core.store.engine) as conn:
        return await ticket_view(conn, core, ticket_id)


async def _handled(
    core: HotlineCore,
    principal: Principal,
    ticket_id: uuid.UUID,
    step: Callable[[], Awaitable[object]],
) -> TicketView:
    """A step on a ticket the caller's places cover (checked before it runs); the ticket after."""
    await _may_handle(core, principal, ticket_id)
    await step()
    return await _done(core, ticket_id)


@router.get("/triage", response_model=TriagePage)
async def triage_queue(principal: Triage, conn: ReadConnection, core: Core) -> TriagePage:
    """Tickets waiting for a grid, with the reasons routing gave, oldest first."""
    rows = await in_triage(conn, await core.tickets(conn))
    return TriagePage(items=await views_of(conn, core.keyring, rows))


@router.post("/tickets/{ticket_id}/route", response_model=TicketView)
async def route_by_hand(
    ticket_id: uuid.UUID, body: RouteByHand, principal: Triage, core: Core, command: Command
) -> TicketView:
    """Send a ticket in triage to a grid (routing method ``manual``)."""
    async with read_only(core.store.engine) as conn:
        code = await grid_code_of(conn, await core.grid_map(conn), body.grid_id)
    # a grid elsewhere is none of the caller's: the answer to a grid that does not exist
    if code is None or not principal.covers(code):
        raise UnknownGrid(f"no grid {body.grid_id} in the grid map", field="grid_id")
    await handle.route_by_hand(command.commands, ticket_id, body, grid_code=code)
    return await _done(core, ticket_id)


@router.post("/tickets/{ticket_id}/return", response_model=TicketView)
async def return_ticket(
    ticket_id: uuid.UUID, body: Return, principal: GridStaff, core: Core, command: Command
) -> TicketView:
    """Give the ticket back to the hotline before acceptance (退单), e.g. not the subdistrict's."""
    return await _handled(
        core, principal, ticket_id,
        lambda: handle.return_ticket(command.commands, core.keyring, ticket_id, body),
    )  # fmt: skip


@router.post("/tickets/{ticket_id}/accept", response_model=TicketView)
async def accept_ticket(
    ticket_id: uuid.UUID, principal: GridStaff, core: Core, command: Command
) -> TicketView:
    """The grid signs for the ticket (签收)."""
    return await _handled(
        core, principal, ticket_id, lambda: handle.accept(command.commands, ticket_id)
    )


@router.post("/tickets/{ticket_id}/extension", response_model=TicketView)
async def request_extension(
    ticket_id: uuid.UUID,
    body: ExtensionRequest,
    principal: GridStaff,
    core: Core,
    command: Command,
) -> TicketView:
    """Ask the hotline for more time (延期), before the deadline."""
    return await _handled(
        core, principal, ticket_id,
        lambda: handle.request_extension(command.commands, core.keyring, ticket_id, body),
    )  # fmt: skip


@router.post("/tickets/{ticket_id}/reply", response_model=TicketView)
async def reply_to_ticket(
    ticket_id: uuid.UUID, body: Reply, principal: GridStaff, core: Core, command: Command
) -> TicketView:
    """The grid's answer; it is delivered to the hotline's callback, retried until taken."""
    return await _handled(
        core, principal, ticket_id,
        lambda: handle.reply(command.commands, core.keyring, ticket_id, body),
    )  # fmt: skip


def _signed(path: str, model: type[BaseModel]) -> Callable[[Route], Route]:
    """A route the hotline posts to, signed like a push, in the wire format's ``model``."""
    schema = model.model_json_schema()
    body = {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
    return router.post(
        path,
        response_model=TicketView,
        openapi_extra=body,
        responses=problems(NotFound, tickets.WrongStatus),
    )


async def _answer(
    request: Request,
    principal: Principal,
    core: HotlineCore,
    record: Callable[[CommandRunner], Awaitable[uuid.UUID]],
) -> TicketView:
    """Record one of the hotline's answers as its caller; the ticket it answered.

    Idempotent as a push is: the same signed answer sent again (a lost acknowledgement, a
    retry) carries the same signature, which keys its append, so it gets the first answer
    instead of a 409 from a ticket that moved on because of it. An answer signed anew is
    another answer."""
    key = f"hotline-answer:{request.url.path}:{request.headers[SIGNATURE].strip()}"
    commands = core.commands(
        metadata_of(request, principal), idempotency_key=key, method="POST", path=request.url.path
    )
    ticket_id = await record(commands)
    return await _done(core, ticket_id)


@router.post("/tickets/{ticket_id}/delivery/retry", response_model=TicketView)
async def retry_delivery(
    ticket_id: uuid.UUID, principal: Triage, core: Core, command: Command
) -> TicketView:
    """Send a dead-lettered reply on its way again (same idempotency key)."""
    return await _handled(
        core, principal, ticket_id, lambda: handle.retry_delivery(command.commands, ticket_id)
    )


@_signed("/tickets/follow-ups", StandardFollowUp)
async def follow_up(
    request: Request, principal: Hotline, core: Core, wire: WireFormat, body: SignedBody
) -> TicketView:
    """The hotline's follow-up call (回访), signed like a push: satisfied and resolved closes the
    ticket; otherwise it goes back to the grid for re-handling (重办) with a new deadline."""
    result = wire.read_follow_up(body)
    return await _answer(
        request, principal, core,
        lambda commands: handle.follow_up(commands, core.keyring, core.catalogue, result),
    )  # fmt: skip


@_signed("/tickets/extension-decisions", StandardExtensionDecision)
async def extension_decision(
    request: Request, principal: Hotline, core: Core, wire: WireFormat, body: SignedBody
) -> TicketView:
    """The hotline approves or refuses an extension request, signed like a push."""
    decision = wire.read_extension_decision(body)
    return await _answer(
        request, principal, core,
        lambda commands: handle.decide_extension(commands, core.keyring, decision),
    )  # fmt: skip
