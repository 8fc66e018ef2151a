"""A ticket's identity, its state folded from its events, and every step of its life after
intake: the grid's (签收 acceptance, 延期 extension requests, 办结 replies, 催办 reminders), the
hotline's answers (extension decisions, 回访 follow-up calls that close a ticket or send it back
for 重办 re-handling, the outcome of each delivery of a reply), and what the cases service's facts
make of them. Each step states where in the ticket's life it may happen (:func:`require`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from wangge.events import DomainEvent
from wangge.events.sealed import Seal, Sealed
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import Conflict, DomainError
from wangge.governance.redaction import redact
from wangge.hotline_bridge.domain.catalogue import TicketKind
from wangge.hotline_bridge.domain.tickets.events import (
    CallerErased,
    ReplyDelivered,
    ReplyDeliveryFailed,
    ReplyDeliveryRetried,
    Satisfaction,
    TicketAccepted,
    TicketAwaitingTriage,
    TicketClosed,
    TicketExtensionDecided,
    TicketExtensionRequested,
    TicketFollowedUp,
    TicketReceived,
    TicketReminderRaised,
    TicketReopened,
    TicketReplied,
    TicketReturned,
    TicketRoutedToGrid,
)

__all__ = [
    "DELIVERIES",
    "HANDLING",
    "REPLY_LENGTH",
    "TICKET_IDS",
    "ExtensionDecision",
    "FollowUp",
    "InvalidTicket",
    "ReplyOut",
    "Status",
    "Ticket",
    "WrongStatus",
    "accept",
    "case_accepted",
    "case_resolved",
    "decide_extension",
    "delivered",
    "delivery_failed",
    "erase_caller",
    "evolve",
    "follow_up",
    "redacted",
    "remind",
    "reply",
    "request_extension",
    "require",
    "retry_delivery",
    "sealed_texts",
    "stream_id",
    "ticket_id",
]

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


class InvalidTicket(DomainError):
    """A pushed ticket, or a step's input, that cannot be taken as it is."""

    slug = "invalid-ticket"
    title = "The ticket is not valid"


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


def sealed_texts(seal: Seal | None, **texts: str | None) -> Sealed | None:
    """The full free texts of a step, sealed with the ticket's key (no seal: the caller was
    erased, and a new text is kept as its redacted copy alone)."""
    present = {name: text for name, text in texts.items() if text is not None}
    if seal is None or not present:
        return None
    return seal(present)


def redacted(text: str, limit: int) -> str:
    """The redacted clear copy of a free text, cut to the field's ``limit`` (a masked e-mail
    address is longer than the address)."""
    return redact(text)[:limit]


REPLY_LENGTH = 4000
"""The longest reply the hotline takes (``TicketReplied.reply``)."""


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


# What the cases service's facts mean for a ticket. The grid works a routed ticket as a case in
# the cases service. Its events have happened: these decisions answer any status the ticket may
# be in by then (staff may have accepted, replied to or returned it here meanwhile) with nothing
# rather than a refusal, which would hold back every later event of the reaction's partition.


def case_accepted(ticket: Ticket | None) -> list[DomainEvent]:
    """The ticket's case was taken on: the ticket is accepted (签收) if it still waits for that;
    one accepted here already, returned or further on stays as it is."""
    if ticket is None or ticket.status != Status.ROUTED:
        return []
    return accept(ticket)


def case_resolved(
    ticket: Ticket | None,
    *,
    version: int,
    resolution: str,
    solved: bool,
    at_source: bool,
    seal: Seal | None = None,
) -> list[DomainEvent]:
    """The ticket's case was resolved: its resolution is the ticket's reply (办结), after the
    acceptance the case skipped if it did. A ticket owing no reply (replied here already,
    returned, closed) gets none; a resolution longer than the hotline takes is cut."""
    if ticket is None:
        return []
    events: list[DomainEvent] = []
    if ticket.status == Status.ROUTED:  # resolved without a separate acceptance
        events = accept(ticket)
        version += 1
        ticket = evolve(ticket, events[0], version)
    if ticket.status not in (Status.ACCEPTED, Status.REOPENED):
        return events
    text = resolution[:REPLY_LENGTH]
    return [
        *events,
        *reply(ticket, text=text, solved=solved, at_source=at_source, version=version, seal=seal),
    ]
