"""A ticket's handling after intake: triage, acceptance (签收), extension (延期), reply, return
(退单); and what the hotline sends back the same signed way: follow-ups (回访) and extension
decisions.

Grid staff act on tickets of the grids their token covers; triage is the subdistrict's and the
communities' staff's. Every step is an event on the ticket's stream, checked by the domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent, Metadata
from wangge.events.db import read_only
from wangge.events.projection import active_tables
from wangge.events.telemetry import current_traceparent
from wangge.governance.errors import DomainError, NotFound
from wangge.hotline_bridge.adapters.standard import StandardExtensionDecision, StandardFollowUp
from wangge.hotline_bridge.api.tickets import (
    Hotline,
    Keys,
    TicketView,
    adapter_of,
    catalogue_of,
    covers,
    grid_code_of,
    signed_body,
    ticket_view,
    views_of,
)
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.routing import Match, RoutingMethod
from wangge.hotline_bridge.personal_data import CallerKeys
from wangge.hotline_bridge.ticket_commands import act, sealer
from wangge.service.app import ServiceState
from wangge.service.auth import Principal, require
from wangge.service.commands import NO_BODY, Command, CommandContext
from wangge.service.deps import ReadConnection, State
from wangge.service.responses import problems

router = APIRouter(tags=["handling"])
Triage = Annotated[Principal, Depends(require("subdistrict_admin", "community_staff"))]
GridStaff = Annotated[
    Principal, Depends(require("subdistrict_admin", "community_staff", "grid_worker"))
]


class RouteByHand(BaseModel):
    """Staff's choice of grid for a ticket in triage."""

    grid_id: uuid.UUID


class Return(BaseModel):
    """Why the ticket goes back to the hotline (退单)."""

    reason: str = Field(min_length=1, max_length=500)


class ExtensionRequest(BaseModel):
    """More time, asked for before the deadline (延期申请)."""

    until: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)


class Reply(BaseModel):
    """The grid's answer, for the hotline to give the caller (办结回复)."""

    reply: str = Field(min_length=1, max_length=4000)
    solved: bool = Field(description="the problem was solved, not only answered")
    at_source: bool = Field(
        default=True, description="solved by the grid itself (就地解决), without a department"
    )


class TriagePage(BaseModel):
    """Tickets no rule could route, oldest first."""

    items: list[TicketView]


class UnknownGrid(DomainError):
    """The grid is not in the grid map."""

    slug = "unknown-grid"
    title = "No such grid in the subdistrict"


def _metadata(request: Request, principal: Principal) -> Metadata:
    return Metadata(
        actor=principal.subject,
        correlation_id=request.headers.get("X-Correlation-Id"),
        traceparent=current_traceparent(),
    )


async def _grid_code(conn: AsyncConnection, state: ServiceState, grid_id: uuid.UUID) -> str:
    code = await grid_code_of(conn, state, grid_id)
    if code is None:
        raise UnknownGrid(f"no grid {grid_id} in the grid map", field="grid_id")
    return code


async def _ticket_row(conn: AsyncConnection, state: ServiceState, ticket_id: uuid.UUID) -> Any:
    t = (await active_tables(conn, state.service_projection("hotline_tickets")))["tickets"]
    row = (await conn.execute(sa.select(t).where(t.c.ticket_id == ticket_id))).first()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return row


async def _may_handle(state: ServiceState, principal: Principal, ticket_id: uuid.UUID) -> None:
    """The caller's places cover the ticket's grid (triage: subdistrict and community staff)."""
    async with read_only(state.engine) as conn:
        row = await _ticket_row(conn, state, ticket_id)
        if not await covers(conn, state, principal, row.grid_id):
            raise NotFound(f"no ticket {ticket_id}", field="ticket_id")  # not theirs to see


async def _command(
    command: CommandContext,
    ticket_id: uuid.UUID,
    decide: Callable[[tickets.Ticket, int], Sequence[DomainEvent]],
    body: BaseModel = NO_BODY,
) -> None:
    """A staff command on a ticket through the kit's command context (``Idempotency-Key``,
    ``If-Match``, 404 for an unknown ticket)."""
    loaded = await command.load(tickets.stream_id(ticket_id), tickets.evolve, field="ticket_id")
    await command.change(body, loaded, lambda ticket: decide(ticket, loaded.version))


async def _done(state: ServiceState, ticket_id: uuid.UUID, keys: CallerKeys) -> TicketView:
    async with read_only(state.engine) as conn:
        return await ticket_view(conn, state, ticket_id, keys)


@router.get("/triage", response_model=TriagePage)
async def triage_queue(
    principal: Triage, conn: ReadConnection, state: State, keys: Keys
) -> TriagePage:
    """Tickets waiting for a grid, with the reasons routing gave, oldest first."""
    t = (await active_tables(conn, state.service_projection("hotline_tickets")))["tickets"]
    rows = await conn.execute(
        sa.select(t).where(t.c.status == tickets.Status.TRIAGE).order_by(t.c.received_at)
    )
    return TriagePage(items=await views_of(conn, keys, [dict(row) for row in rows.mappings()]))


@router.post("/tickets/{ticket_id}/route", response_model=TicketView)
async def route_by_hand(
    ticket_id: uuid.UUID,
    body: RouteByHand,
    principal: Triage,
    state: State,
    command: Command,
    keys: Keys,
) -> TicketView:
    """Send a ticket in triage to a grid (routing method ``manual``)."""
    async with read_only(state.engine) as conn:
        code = await _grid_code(conn, state, body.grid_id)
    if not principal.covers(code):
        # the answer to a grid that does not exist: a grid elsewhere is none of the caller's
        raise UnknownGrid(f"no grid {body.grid_id} in the grid map", field="grid_id")
    match = Match(RoutingMethod.MANUAL, body.grid_id, None, f"routed by hand to grid {code}")
    await _command(command, ticket_id, lambda t, _: tickets.route(t, match), body)
    return await _done(state, ticket_id, keys)


@router.post("/tickets/{ticket_id}/return", response_model=TicketView)
async def return_ticket(
    ticket_id: uuid.UUID,
    body: Return,
    principal: GridStaff,
    state: State,
    command: Command,
    keys: Keys,
) -> TicketView:
    """Give the ticket back to the hotline before acceptance (退单), e.g. not the subdistrict's."""
    await _may_handle(state, principal, ticket_id)
    seal = await sealer(state, keys, ticket_id)
    await _command(
        command, ticket_id,
        lambda t, _: tickets.give_back(t, body.reason, by="staff", seal=seal), body,
    )  # fmt: skip
    return await _done(state, ticket_id, keys)


@router.post("/tickets/{ticket_id}/accept", response_model=TicketView)
async def accept_ticket(
    ticket_id: uuid.UUID, principal: GridStaff, state: State, command: Command, keys: Keys
) -> TicketView:
    """The grid signs for the ticket (签收)."""
    await _may_handle(state, principal, ticket_id)
    await _command(command, ticket_id, lambda t, _: tickets.accept(t))
    return await _done(state, ticket_id, keys)


@router.post("/tickets/{ticket_id}/extension", response_model=TicketView)
async def request_extension(
    ticket_id: uuid.UUID,
    body: ExtensionRequest,
    principal: GridStaff,
    state: State,
    command: Command,
    keys: Keys,
) -> TicketView:
    """Ask the hotline for more time (延期), before the deadline."""
    await _may_handle(state, principal, ticket_id)
    now = datetime.now(UTC)
    seal = await sealer(state, keys, ticket_id)
    await _command(
        command, ticket_id,
        lambda t, _: tickets.request_extension(
            t, until=body.until, reason=body.reason, now=now, seal=seal
        ),
        body,
    )  # fmt: skip
    return await _done(state, ticket_id, keys)


@router.post("/tickets/{ticket_id}/reply", response_model=TicketView)
async def reply_to_ticket(
    ticket_id: uuid.UUID,
    body: Reply,
    principal: GridStaff,
    state: State,
    command: Command,
    keys: Keys,
) -> TicketView:
    """The grid's answer; it is delivered to the hotline's callback, retried until taken."""
    await _may_handle(state, principal, ticket_id)
    seal = await sealer(state, keys, ticket_id)
    await _command(
        command, ticket_id,
        lambda t, version: tickets.reply(
            t, text=body.reply, solved=body.solved, at_source=body.at_source, version=version,
            seal=seal,
        ),
        body,
    )  # fmt: skip
    return await _done(state, ticket_id, keys)


def _body(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post("/tickets/{ticket_id}/delivery/retry", response_model=TicketView)
async def retry_delivery(
    ticket_id: uuid.UUID, principal: Triage, state: State, command: Command, keys: Keys
) -> TicketView:
    """Send a dead-lettered reply on its way again (same idempotency key)."""
    await _may_handle(state, principal, ticket_id)
    await _command(command, ticket_id, lambda t, _: tickets.retry_delivery(t))
    return await _done(state, ticket_id, keys)


@router.post(
    "/tickets/follow-ups",
    response_model=TicketView,
    openapi_extra=_body(StandardFollowUp),
    responses=problems(NotFound, tickets.WrongStatus),
)
async def follow_up(
    request: Request,
    principal: Hotline,
    state: State,
    keys: Keys,
    body: Annotated[bytes, Depends(signed_body)],
) -> TicketView:
    """The hotline's follow-up call (回访), signed like a push: satisfied and resolved closes the
    ticket; otherwise it goes back to the grid for re-handling (重办) with a new deadline."""
    result = adapter_of(request).read_follow_up(body)
    ticket_id = tickets.ticket_id(result.ticket_number)
    catalogue = catalogue_of(request)
    seal = await sealer(state, keys, ticket_id)

    def decide(ticket: tickets.Ticket, _: int) -> list[Any]:
        category = catalogue.get(ticket.category)
        now = datetime.now(UTC)
        redo = category.time_limit.deadline(now) if category is not None else ticket.deadline
        return tickets.follow_up(
            ticket, satisfaction=result.satisfaction, resolved=result.resolved,
            note=result.note, redo_deadline=redo, seal=seal,
        )  # fmt: skip

    await act(state, ticket_id, decide, metadata=_metadata(request, principal))
    return await _done(state, ticket_id, keys)


@router.post(
    "/tickets/extension-decisions",
    response_model=TicketView,
    openapi_extra=_body(StandardExtensionDecision),
    responses=problems(NotFound, tickets.WrongStatus),
)
async def extension_decision(
    request: Request,
    principal: Hotline,
    state: State,
    keys: Keys,
    body: Annotated[bytes, Depends(signed_body)],
) -> TicketView:
    """The hotline approves or refuses an extension request, signed like a push."""
    decision = adapter_of(request).read_extension_decision(body)
    ticket_id = tickets.ticket_id(decision.ticket_number)
    seal = await sealer(state, keys, ticket_id)
    await act(
        state, ticket_id,
        lambda t, _: tickets.decide_extension(
            t, approved=decision.approved, deadline=decision.deadline, note=decision.note,
            seal=seal,
        ),
        metadata=_metadata(request, principal),
    )  # fmt: skip
    return await _done(state, ticket_id, keys)
