"""What the grid does with a ticket: accept it (签收), ask for more time (延期), reply (办结); and
the reminders (催办) and the staff's retry of a dead-lettered reply."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from wangge.events import DomainEvent
from wangge.events.sealed import Seal
from wangge.hotline_bridge.domain.tickets.events import (
    ReplyDeliveryRetried,
    TicketAccepted,
    TicketExtensionRequested,
    TicketReminderRaised,
    TicketReplied,
)
from wangge.hotline_bridge.domain.tickets.lifecycle import (
    HANDLING,
    Status,
    Ticket,
    WrongStatus,
    require,
)
from wangge.hotline_bridge.domain.tickets.receipt import InvalidTicket
from wangge.hotline_bridge.domain.tickets.texts import REPLY_LENGTH, redacted, sealed_texts

DELIVERIES = uuid.UUID("0c3b1f6e-8d2a-5b47-9e61-4a7f2c9d8e10")
"""The UUIDv5 namespace of reply delivery ids (the idempotency key the hotline sees)."""


def accept(ticket: Ticket) -> list[DomainEvent]:
    """The grid signs for the ticket (签收)."""
    require(ticket, frozenset({Status.ROUTED}), "accepted")
    assert ticket.grid_id is not None
    return [TicketAccepted(ticket_id=ticket.ticket_id, grid_id=ticket.grid_id)]


def request_extension(
    ticket: Ticket, *, until: datetime, reason: str, now: datetime, seal: Seal | None = None
) -> list[DomainEvent]:
    """Ask for more time: while handling, before the deadline, one request at a time."""
    require(ticket, HANDLING, "extended")
    if ticket.extension_until is not None:
        raise WrongStatus("an extension request is already waiting for the hotline", field="until")
    if now >= ticket.deadline:
        raise InvalidTicket("an extension must be asked for before the deadline", field="until")
    if until <= ticket.deadline:
        raise InvalidTicket("the new deadline must be after the current one", field="until")
    return [
        TicketExtensionRequested(
            ticket_id=ticket.ticket_id, until=until, reason=redacted(reason, 500),
            sealed=sealed_texts(seal, reason=reason),
        )
    ]  # fmt: skip


def reply(
    ticket: Ticket,
    *,
    text: str,
    solved: bool,
    at_source: bool,
    version: int,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """The grid's answer, handed to the hotline by the delivery worker."""
    require(ticket, frozenset({Status.ACCEPTED, Status.REOPENED}), "replied to")
    delivery = uuid.uuid5(DELIVERIES, f"{ticket.ticket_id}:{version}")
    return [
        TicketReplied(
            ticket_id=ticket.ticket_id, reply=redacted(text, REPLY_LENGTH), solved=solved,
            at_source=at_source, delivery_id=delivery, sealed=sealed_texts(seal, reply=text),
        )
    ]  # fmt: skip


def remind(ticket: Ticket, *, now: datetime, due_soon: timedelta) -> list[DomainEvent]:
    """A reminder (催办) when a ticket still owed a reply is overdue or nearly so; each level
    once per deadline."""
    if ticket.status not in HANDLING and ticket.status != Status.TRIAGE:
        return []
    level: Literal["due_soon", "overdue"]
    if now >= ticket.deadline:
        level = "overdue"
    elif ticket.deadline - now <= due_soon:
        level = "due_soon"
    else:
        return []
    if level in ticket.reminded:
        return []
    return [
        TicketReminderRaised(
            ticket_id=ticket.ticket_id, grid_id=ticket.grid_id, level=level,
            deadline=ticket.deadline,
        )
    ]  # fmt: skip


def retry_delivery(ticket: Ticket) -> list[DomainEvent]:
    """Staff send a dead-lettered reply again."""
    if ticket.delivery_id is None or not ticket.dead_letter:
        raise WrongStatus("the ticket has no dead-lettered reply", field="delivery")
    return [ReplyDeliveryRetried(ticket_id=ticket.ticket_id, delivery_id=ticket.delivery_id)]
