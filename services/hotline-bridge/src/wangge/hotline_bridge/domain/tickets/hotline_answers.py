"""What the hotline sends back, as the domain reads it: extension decisions, follow-up calls
(回访, closing a ticket or sending it back for re-handling 重办), and the outcome of each
delivery of a reply."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from wangge.events import DomainEvent
from wangge.events.sealed import Seal
from wangge.governance.redaction import redact
from wangge.hotline_bridge.domain.tickets.events import (
    ReplyDelivered,
    ReplyDeliveryFailed,
    Satisfaction,
    TicketClosed,
    TicketExtensionDecided,
    TicketFollowedUp,
    TicketReopened,
)
from wangge.hotline_bridge.domain.tickets.lifecycle import Status, Ticket, WrongStatus, require
from wangge.hotline_bridge.domain.tickets.receipt import InvalidTicket
from wangge.hotline_bridge.domain.tickets.texts import sealed_texts


@dataclass(frozen=True)
class FollowUp:
    """The hotline's follow-up call on a replied ticket, as an adapter read it."""

    ticket_number: str
    satisfaction: Satisfaction
    resolved: bool
    note: str | None = None


@dataclass(frozen=True)
class ReplyOut:
    """A reply as it goes to the hotline (an adapter writes it in the hotline's format)."""

    ticket_number: str
    reply: str
    solved: bool
    at_source: bool
    replied_at: datetime
    delivery_id: uuid.UUID


@dataclass(frozen=True)
class ExtensionDecision:
    """The hotline's answer to an extension request, as an adapter read it."""

    ticket_number: str
    approved: bool
    deadline: datetime | None = None
    note: str | None = None


def decide_extension(
    ticket: Ticket,
    *,
    approved: bool,
    deadline: datetime | None,
    note: str | None,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """The hotline's answer to an extension request (approved: the requested or its own date)."""
    if ticket.extension_until is None:
        raise WrongStatus("no extension request is waiting", field="approved")
    if not approved:
        new = ticket.deadline
    else:
        new = deadline or ticket.extension_until
        if new <= ticket.deadline:
            raise InvalidTicket(
                "an approved deadline must be after the current one", field="deadline"
            )
    return [
        TicketExtensionDecided(
            ticket_id=ticket.ticket_id,
            approved=approved,
            deadline=new,
            note=redact(note) if note is not None else None,
            sealed=sealed_texts(seal, note=note),
        )
    ]


def follow_up(
    ticket: Ticket,
    *,
    satisfaction: Satisfaction,
    resolved: bool,
    note: str | None,
    redo_deadline: datetime,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """Record the hotline's follow-up call: a served caller closes the ticket; an unsatisfied
    one, or a problem not solved, sends it back to the grid (重办) due by ``redo_deadline``."""
    require(ticket, frozenset({Status.REPLIED}), "followed up")
    events: list[DomainEvent] = [
        TicketFollowedUp(
            ticket_id=ticket.ticket_id,
            satisfaction=satisfaction,
            resolved=resolved,
            note=redact(note) if note is not None else None,
            sealed=sealed_texts(seal, note=note),
        )
    ]
    if resolved and satisfaction != Satisfaction.UNSATISFIED:
        events.append(TicketClosed(ticket_id=ticket.ticket_id))
    else:
        why = (
            "the caller was unsatisfied"
            if satisfaction == Satisfaction.UNSATISFIED
            else ("the problem was not resolved")
        )
        events.append(
            TicketReopened(ticket_id=ticket.ticket_id, reason=why, deadline=redo_deadline)
        )
    return events


def delivery_failed(
    ticket: Ticket, *, attempt: int, error: str, next_attempt_at: datetime | None
) -> list[DomainEvent]:
    """An attempt of the current reply failed (``next_attempt_at`` None: dead-lettered)."""
    if ticket.delivery_id is None or ticket.delivered:
        return []
    return [
        ReplyDeliveryFailed(
            ticket_id=ticket.ticket_id, delivery_id=ticket.delivery_id, attempt=attempt,
            error=redact(error)[:500], next_attempt_at=next_attempt_at,
        )
    ]  # fmt: skip


def delivered(ticket: Ticket, *, attempt: int) -> list[DomainEvent]:
    """The hotline took the current reply (once: a late second acknowledgement adds nothing)."""
    if ticket.delivery_id is None or ticket.delivered:
        return []
    return [
        ReplyDelivered(ticket_id=ticket.ticket_id, delivery_id=ticket.delivery_id, attempt=attempt)
    ]
