"""Routing's decisions (派单): to a grid, to the triage queue, or back to the hotline (退单)."""

from __future__ import annotations

from typing import Literal

from wangge.events import DomainEvent
from wangge.events.sealed import Seal
from wangge.hotline_bridge.domain.routing import Match, Unroutable
from wangge.hotline_bridge.domain.tickets.events import (
    TicketAwaitingTriage,
    TicketReturned,
    TicketRoutedToGrid,
)
from wangge.hotline_bridge.domain.tickets.lifecycle import Status, Ticket, require
from wangge.hotline_bridge.domain.tickets.texts import redacted, sealed_texts


def route(ticket: Ticket, match: Match) -> list[DomainEvent]:
    """Dispatch to the matched grid (from intake, or by staff out of triage)."""
    require(ticket, frozenset({Status.RECEIVED, Status.TRIAGE}), "routed")
    return [
        TicketRoutedToGrid(
            ticket_id=ticket.ticket_id, grid_id=match.grid_id, method=match.method,
            place_id=match.place_id, score=match.score, detail=match.detail,
        )
    ]  # fmt: skip


def hold_for_triage(ticket: Ticket, reasons: list[str]) -> list[DomainEvent]:
    """Park a ticket no rule could route, with why."""
    require(ticket, frozenset({Status.RECEIVED}), "queued for triage")
    return [TicketAwaitingTriage(ticket_id=ticket.ticket_id, reasons=reasons)]


def give_back(
    ticket: Ticket, reason: str, *, by: Literal["routing", "staff"], seal: Seal | None = None
) -> list[DomainEvent]:
    """Return the ticket to the hotline (退单): only before the grid accepted it. Staff's reason
    is free text (sealed, redacted in clear); routing's is its own words about the address."""
    require(ticket, frozenset({Status.RECEIVED, Status.TRIAGE, Status.ROUTED}), "returned")
    if by == "routing":
        return [TicketReturned(ticket_id=ticket.ticket_id, reason=reason, by=by)]
    return [
        TicketReturned(
            ticket_id=ticket.ticket_id, reason=redacted(reason, 500), by=by,
            sealed=sealed_texts(seal, reason=reason),
        )
    ]  # fmt: skip


def dispatch(ticket: Ticket, found: Match | Unroutable) -> list[DomainEvent]:
    """What routing's answer makes of a ticket: dispatched, returned, or held for triage."""
    if isinstance(found, Match):
        return route(ticket, found)
    if found.outside is not None:
        return give_back(ticket, found.outside, by="routing")
    if ticket.status == Status.TRIAGE:
        return []  # still no grid: it stays in the queue with its first reasons
    return hold_for_triage(ticket, list(found.reasons))
