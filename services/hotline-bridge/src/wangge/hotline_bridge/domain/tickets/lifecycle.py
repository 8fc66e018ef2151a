"""A ticket's identity, its state folded from its events, and where in its life each step may
happen."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from wangge.events import DomainEvent
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import Conflict
from wangge.hotline_bridge.domain.catalogue import TicketKind
from wangge.hotline_bridge.domain.tickets.events import (
    CallerErased,
    ReplyDelivered,
    ReplyDeliveryFailed,
    ReplyDeliveryRetried,
    TicketAccepted,
    TicketAwaitingTriage,
    TicketClosed,
    TicketExtensionDecided,
    TicketExtensionRequested,
    TicketReceived,
    TicketReminderRaised,
    TicketReopened,
    TicketReplied,
    TicketReturned,
    TicketRoutedToGrid,
)

TICKET_IDS = uuid.UUID("5d0c7a52-3f43-5c0e-9a7e-12345a0b1d6e")
"""The UUIDv5 namespace of ticket ids (never change it: ids derive from it)."""


def ticket_id(number: str) -> uuid.UUID:
    """The id of the ticket the hotline numbered ``number``."""
    return uuid.uuid5(TICKET_IDS, number)


def stream_id(ticket: uuid.UUID) -> str:
    """The stream of a ticket."""
    return f"ticket-{ticket}"


class Status(StrEnum):
    """Where a ticket is in its life (see :func:`evolve` for the moves between them)."""

    RECEIVED = "received"
    TRIAGE = "triage"
    """No grid found: waits for staff to route it by hand."""
    ROUTED = "routed"
    ACCEPTED = "accepted"
    """The grid signed for it (签收)."""
    REPLIED = "replied"
    REOPENED = "reopened"
    """Sent back for re-handling after an unsatisfied follow-up (重办)."""
    CLOSED = "closed"
    RETURNED = "returned"
    """Sent back to the hotline before acceptance (退单)."""


class WrongStatus(Conflict):
    """The ticket is not where this step needs it."""

    slug = "ticket-status"
    title = "The ticket's status does not allow this"


@dataclass(frozen=True)
class Ticket:
    """A ticket's state, as far as deciding on it needs."""

    ticket_id: uuid.UUID
    ticket_number: str
    push_fingerprint: str
    kind: TicketKind
    category: str
    received_at: datetime
    deadline: datetime
    status: Status = Status.RECEIVED
    grid_id: uuid.UUID | None = None
    extension_until: datetime | None = None
    delivery_id: uuid.UUID | None = None
    delivered: bool = False
    dead_letter: bool = False
    attempts: int = 0
    reminded: frozenset[str] = frozenset()
    erased: bool = False
    """The caller was erased: the ticket's data key is gone."""


def evolve(state: Ticket | None, event: DomainEvent, version: int) -> Ticket:
    """Fold one event into a ticket's state."""
    if isinstance(event, TicketReceived):
        return Ticket(
            event.ticket_id, event.ticket_number, event.push_fingerprint, event.kind,
            event.category, event.received_at, event.deadline,
        )  # fmt: skip
    if state is None:
        raise ValueError(f"a ticket stream starts with TicketReceived, not {type(event).__name__}")
    match event:
        case TicketRoutedToGrid():
            return replace(state, status=Status.ROUTED, grid_id=event.grid_id)
        case TicketAwaitingTriage():
            return replace(state, status=Status.TRIAGE)
        case TicketReturned():
            return replace(state, status=Status.RETURNED)
        case TicketAccepted():
            return replace(state, status=Status.ACCEPTED)
        case TicketExtensionRequested():
            return replace(state, extension_until=event.until)
        case TicketExtensionDecided():
            return replace(state, extension_until=None, deadline=event.deadline)
        case TicketReplied():
            return replace(
                state, status=Status.REPLIED, delivery_id=event.delivery_id, delivered=False,
                dead_letter=False, attempts=0,
            )  # fmt: skip
        case ReplyDeliveryFailed():
            return replace(state, attempts=event.attempt, dead_letter=event.next_attempt_at is None)
        case ReplyDelivered():
            return replace(state, delivered=True, dead_letter=False, attempts=event.attempt)
        case ReplyDeliveryRetried():
            return replace(state, dead_letter=False, attempts=0)
        case TicketClosed():
            return replace(state, status=Status.CLOSED)
        case TicketReopened():
            return replace(
                state, status=Status.REOPENED, deadline=event.deadline, reminded=frozenset()
            )
        case TicketReminderRaised():
            return replace(state, reminded=state.reminded | {event.level})
        case CallerErased():
            return replace(state, erased=True)
    return state


HANDLING = frozenset({Status.ROUTED, Status.ACCEPTED, Status.REOPENED})
"""Statuses in which the grid owes a reply, and the deadline runs."""


def require(ticket: Ticket, allowed: frozenset[Status], step: str) -> None:
    if ticket.status not in allowed:
        raise WrongStatus(f"a {ticket.status} ticket cannot be {step}", field="status")


def erase_caller(ticket: Ticket, ground: ErasureGround) -> list[DomainEvent]:
    """Decide the erasure of the ticket's caller (its data key is destroyed with it); once."""
    if ticket.erased:
        return []
    return [CallerErased(ticket_id=ticket.ticket_id, legal_ground=ground)]
