"""Tickets of the 12345 hotline: what a pushed ticket becomes, and when it is due.

A ticket's number is the hotline's; the ticket's id is derived from it (UUIDv5), so the same push
twice lands on the same stream and intake is idempotent by number without a lookup table. The
caller's name and phone are sealed with a data key of the ticket's own (the hotline's caller is a
person like any resident: erasing the key erases them from every copy of the log).

Free text is personal data until shown otherwise (DESIGN section 6): what the caller said, what
the grid replied, why it asked for time or gave the ticket back, what the follow-up call heard.
Each is sealed with the same key, and its clear field carries only its redacted copy
(:func:`wangge.governance.redaction.redact`), which routing, work lists and the other services read.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.addresses import normalise_address
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import Conflict, DomainError
from wangge.governance.personal import mask_name, mask_phone, normalise_phone
from wangge.governance.redaction import redact
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue, TicketKind
from wangge.hotline_bridge.domain.routing import Match, RoutingMethod, Unroutable

SERVICE = "hotline_bridge"
TICKET_IDS = uuid.UUID("5d0c7a52-3f43-5c0e-9a7e-12345a0b1d6e")
"""The UUIDv5 namespace of ticket ids (never change it: ids derive from it)."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a ticket's receipt time may lie (the hotline's clock, not ours)."""
Door = Literal["hotline", "open311"]
"""How a ticket came in: pushed by the 12345 platform, or posted through Open311 GeoReport v2."""
KEYED = "hmac-sha256:"
"""The prefix of a push fingerprint keyed with the ticket's data key (older ones are bare)."""
Digest = Callable[[str], str]
"""Keys a push's fingerprint with the ticket's data key (see :func:`keyed_fingerprint`)."""


def keyed_fingerprint(key: bytes, fingerprint: str) -> str:
    """The push's fingerprint as a ticket keeps it: an HMAC under the ticket's data key.

    A bare digest of the push would confirm a guess at what an erased caller said (the redacted
    copy and the masks leave little to guess); keyed with the data key, it dies with the key.
    """
    return KEYED + hmac.new(key, fingerprint.encode(), hashlib.sha256).hexdigest()


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


SEALED_DESCRIPTION = (
    "the step's free texts in full, sealed with the ticket's data key; none when the caller "
    "was erased before the step (its clear fields are then all there is)"
)


def ticket_id(number: str) -> uuid.UUID:
    """The id of the ticket the hotline numbered ``number``."""
    return uuid.uuid5(TICKET_IDS, number)


def stream_id(ticket: uuid.UUID) -> str:
    """The stream of a ticket."""
    return f"ticket-{ticket}"


class Channel(StrEnum):
    """How the caller reached the hotline."""

    PHONE = "phone"
    WEB = "web"
    APP = "app"
    WECHAT = "wechat"
    SMS = "sms"
    EMAIL = "email"
    OTHER = "other"


class Urgency(StrEnum):
    """How urgent the hotline rated the ticket."""

    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class Location(BaseModel):
    """A point the caller gave (WGS 84)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    longitude: float = Field(ge=-180, le=180)
    latitude: float = Field(ge=-90, le=90)


class InvalidTicket(DomainError):
    """A pushed ticket that cannot be taken in as it is."""

    slug = "invalid-ticket"
    title = "The ticket is not valid"


class TicketNumberReused(Conflict):
    """A push under a number the hotline already used for another ticket."""

    slug = "ticket-number-reused"
    title = "This ticket number was pushed before with other contents"


@dataclass(frozen=True)
class Intake:
    """A ticket as an adapter read it from the hotline's push, in the domain's words."""

    ticket_number: str
    channel: Channel
    received_at: datetime
    category_code: str
    content: str
    address: str
    urgency: Urgency
    fingerprint: str
    """A digest of the push as the hotline sent it: the same number again must carry it."""
    caller_name: str | None = None
    caller_phone: str | None = None
    location: Location | None = None
    deadline: datetime | None = None
    door: Door = "hotline"


class Satisfaction(StrEnum):
    """The caller's rating at the follow-up call (回访)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


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


@default_catalogue.event(SERVICE)
class TicketReceived(DomainEvent):
    """The hotline pushed a ticket and it was taken in, with its deadline (受理)."""

    ticket_id: uuid.UUID
    ticket_number: str
    channel: Channel
    received_at: AwareDatetime = Field(description="when the hotline received the call")
    category: str = Field(description="the dispatch catalogue's category code")
    category_name: str
    kind: TicketKind
    content: str = Field(
        description="the redacted clear copy of what the caller asked for (phones, identity "
        "numbers, plates, e-mail addresses masked); the full text is in the sealed caller block. "
        "Tickets taken in before the text was sealed carry it here in full"
    )
    address: str
    location: Location | None = None
    urgency: Urgency
    deadline: AwareDatetime = Field(description="when the reply is due")
    deadline_source: Literal["hotline", "catalogue"]
    caller: Sealed | None = Field(
        default=None,
        description='{"name", "phone", "content"} sealed with the ticket\'s data key; there '
        "for an anonymous caller too, for the content (older tickets: name and phone only)",
    )
    caller_name_masked: str | None = None
    caller_phone_masked: str | None = None
    push_fingerprint: str = Field(
        description="digest of the push, for idempotent intake: keyed with the ticket's data "
        "key (hmac-sha256:...), or bare on tickets taken in before"
    )
    door: Door = Field(
        default="hotline", description="how it came in: the hotline's push, or Open311"
    )


@default_catalogue.event(SERVICE)
class TicketLinkedAsDuplicate(DomainEvent):
    """The ticket is about the same issue at the same address as an open one (重复工单)."""

    ticket_id: uuid.UUID
    duplicate_of: uuid.UUID = Field(description="the open ticket it repeats")
    reason: str


@default_catalogue.event(SERVICE)
class RepeatedComplaintsNoticed(DomainEvent):
    """Complaints of one category at one address reached the threshold in the window: the
    cue for a proactive case (未诉先办)."""

    hotspot_id: uuid.UUID
    address: str
    address_key: str = Field(description="the normalised address the tickets share")
    category: str
    category_name: str
    ticket_ids: list[uuid.UUID] = Field(description="the window's tickets, oldest first")
    window_days: int


HOTSPOTS = uuid.UUID("9a4e3f1c-6b2d-5e8f-8c7a-0d1e2f3a4b5c")
"""The UUIDv5 namespace of hotspot ids (an address and a category)."""


def hotspot_stream(address_key: str, category: str) -> tuple[uuid.UUID, str]:
    """The id and stream of the hotspot of ``category`` at ``address_key``."""
    hotspot = uuid.uuid5(HOTSPOTS, f"{category}\x1f{address_key}")
    return hotspot, f"hotspot-{hotspot}"


@dataclass(frozen=True)
class Neighbours:
    """What the register already holds about the same address and category."""

    open_duplicate: uuid.UUID | None = None
    """An open ticket of the category at the address, within the duplicate window."""
    recent: tuple[uuid.UUID, ...] = ()
    """Every ticket of the category at the address in the repeat window, oldest first."""


def receive(
    intake: Intake, *, catalogue: DispatchCatalogue, now: datetime, seal: Seal, digest: Digest
) -> list[DomainEvent]:
    """Decide the intake of a pushed ticket: its category, its deadline, its sealed caller (what
    the caller said sealed with them, its redacted copy in clear)."""
    category = catalogue.get(intake.category_code)
    if category is None:
        raise InvalidTicket(
            f"{intake.category_code!r} is not in the dispatch catalogue ({catalogue.name})",
            field="category_code",
        )
    if intake.received_at > now + CLOCK_SKEW:
        raise InvalidTicket("the ticket was received in the future", field="received_at")
    if intake.deadline is not None and intake.deadline <= intake.received_at:
        raise InvalidTicket("the deadline is before the ticket was received", field="deadline")
    phone = (
        normalise_phone(intake.caller_phone, field="caller.phone") if intake.caller_phone else None
    )
    # sealed for an anonymous caller too: the content may name them, or a neighbour
    caller = seal({"name": intake.caller_name, "phone": phone, "content": intake.content})
    deadline = intake.deadline or category.time_limit.deadline(intake.received_at)
    return [
        TicketReceived(
            ticket_id=ticket_id(intake.ticket_number),
            ticket_number=intake.ticket_number,
            channel=intake.channel,
            received_at=intake.received_at,
            category=category.code,
            category_name=category.name,
            kind=category.kind,
            content=redact(intake.content, names=[intake.caller_name]),
            address=intake.address,
            location=intake.location,
            urgency=intake.urgency,
            deadline=deadline,
            deadline_source="hotline" if intake.deadline is not None else "catalogue",
            caller=caller,
            caller_name_masked=mask_name(intake.caller_name) if intake.caller_name else None,
            caller_phone_masked=mask_phone(phone) if phone else None,
            push_fingerprint=digest(intake.fingerprint),
            door=intake.door,
        )
    ]


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


@default_catalogue.event(SERVICE)
class TicketRoutedToGrid(DomainEvent):
    """The ticket was dispatched to a grid, with how its address matched (派单)."""

    ticket_id: uuid.UUID
    grid_id: uuid.UUID
    method: RoutingMethod
    place_id: uuid.UUID | None = Field(default=None, description="the place the address named")
    score: float | None = Field(default=None, description="the fuzzy match's score (0-100)")
    detail: str


@default_catalogue.event(SERVICE)
class TicketAwaitingTriage(DomainEvent):
    """No rule found the ticket's grid: it waits for staff, with the reasons."""

    ticket_id: uuid.UUID
    reasons: list[str] = Field(min_length=1)


@default_catalogue.event(SERVICE)
class TicketReturned(DomainEvent):
    """The ticket goes back to the hotline before anyone accepted it (退单)."""

    ticket_id: uuid.UUID
    reason: str = Field(
        min_length=1, max_length=500,
        description="why; staff's reason as its redacted copy (the full text sealed)",
    )  # fmt: skip
    by: Literal["routing", "staff"] = Field(
        description="routing found it outside the subdistrict, or staff returned it"
    )
    sealed: Sealed | None = Field(default=None, description=SEALED_DESCRIPTION)


@default_catalogue.event(SERVICE)
class TicketAccepted(DomainEvent):
    """The grid signed for the ticket (签收): the clock of its reply runs on."""

    ticket_id: uuid.UUID
    grid_id: uuid.UUID


@default_catalogue.event(SERVICE)
class TicketExtensionRequested(DomainEvent):
    """The grid asked the hotline for more time (延期申请), before the deadline."""

    ticket_id: uuid.UUID
    until: AwareDatetime
    reason: str = Field(
        min_length=1, max_length=500, description="the redacted copy (the full text sealed)"
    )
    sealed: Sealed | None = Field(default=None, description=SEALED_DESCRIPTION)


@default_catalogue.event(SERVICE)
class TicketExtensionDecided(DomainEvent):
    """The hotline approved or refused the extension; approved moves the deadline."""

    ticket_id: uuid.UUID
    approved: bool
    deadline: AwareDatetime = Field(description="the deadline from now on")
    note: str | None = Field(default=None, description="the redacted copy (the full text sealed)")
    sealed: Sealed | None = Field(default=None, description=SEALED_DESCRIPTION)


@default_catalogue.event(SERVICE)
class TicketReplied(DomainEvent):
    """The grid's answer to the caller, for the hotline (办结回复)."""

    ticket_id: uuid.UUID
    reply: str = Field(
        min_length=1, max_length=4000,
        description="the redacted copy; the hotline is sent the sealed full text",
    )  # fmt: skip
    solved: bool = Field(description="the problem was solved (not only answered)")
    at_source: bool = Field(description="solved by the grid itself, without a department")
    delivery_id: uuid.UUID = Field(description="the idempotency key of this reply's delivery")
    sealed: Sealed | None = Field(default=None, description=SEALED_DESCRIPTION)


@default_catalogue.event(SERVICE)
class TicketFollowedUp(DomainEvent):
    """The hotline's follow-up call (回访): the caller's rating and whether it was solved."""

    ticket_id: uuid.UUID
    satisfaction: Satisfaction
    resolved: bool
    note: str | None = Field(default=None, description="the redacted copy (the full text sealed)")
    sealed: Sealed | None = Field(default=None, description=SEALED_DESCRIPTION)


@default_catalogue.event(SERVICE)
class TicketClosed(DomainEvent):
    """Done: the follow-up found the caller served."""

    ticket_id: uuid.UUID


@default_catalogue.event(SERVICE)
class TicketReopened(DomainEvent):
    """Back to the grid for re-handling (重办), with a new deadline."""

    ticket_id: uuid.UUID
    reason: str
    deadline: AwareDatetime


@default_catalogue.event(SERVICE)
class TicketReminderRaised(DomainEvent):
    """The ticket is overdue, or soon will be, and nobody has replied (催办)."""

    ticket_id: uuid.UUID
    grid_id: uuid.UUID | None
    level: Literal["due_soon", "overdue"]
    deadline: AwareDatetime


@default_catalogue.event(SERVICE)
class ReplyDeliveryFailed(DomainEvent):
    """One attempt to hand the reply to the hotline failed; the next is scheduled."""

    ticket_id: uuid.UUID
    delivery_id: uuid.UUID
    attempt: int = Field(ge=1)
    error: str = Field(description="what went wrong, redacted (a hotline may echo the reply)")
    next_attempt_at: AwareDatetime | None = Field(
        description="when it is tried again; none: it is dead-lettered until staff retry"
    )


@default_catalogue.event(SERVICE)
class ReplyDelivered(DomainEvent):
    """The hotline acknowledged the reply."""

    ticket_id: uuid.UUID
    delivery_id: uuid.UUID
    attempt: int = Field(ge=1)


@default_catalogue.event(SERVICE)
class ReplyDeliveryRetried(DomainEvent):
    """Staff sent a dead-lettered reply on its way again, with a fresh round of attempts."""

    ticket_id: uuid.UUID
    delivery_id: uuid.UUID


@default_catalogue.event(SERVICE)
class CallerErased(DomainEvent):
    """The ticket's data key was destroyed (crypto-shredding): the caller's name and phone and
    the full texts of the ticket are unreadable from now on; the redacted copies remain. The
    envelope's actor is who asked."""

    ticket_id: uuid.UUID
    legal_ground: ErasureGround


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


def same_push(ticket: Ticket, intake: Intake, key: bytes | None) -> None:
    """Whether a push under a known number is the first again (else a 409); ``key`` is the
    ticket's data key (None once its caller was erased)."""
    stored = ticket.push_fingerprint
    if not stored.startswith(KEYED):  # taken in before fingerprints were keyed
        same = hmac.compare_digest(stored, intake.fingerprint)
    elif key is None:
        # nothing left to compare with: a push can no longer be shown to be the first again
        raise TicketNumberReused(
            f"ticket {intake.ticket_number} was taken in before and its caller erased",
            field="ticket_number",
        )
    else:
        same = hmac.compare_digest(stored, keyed_fingerprint(key, intake.fingerprint))
    if not same:
        raise TicketNumberReused(
            f"ticket {intake.ticket_number} was pushed before with other contents",
            field="ticket_number",
        )


def erase_caller(ticket: Ticket, ground: ErasureGround) -> list[DomainEvent]:
    """Decide the erasure of the ticket's caller (its data key is destroyed with it); once."""
    if ticket.erased:
        return []
    return [CallerErased(ticket_id=ticket.ticket_id, legal_ground=ground)]


def link(
    received: TicketReceived, neighbours: Neighbours, *, threshold: int, window_days: int
) -> tuple[list[DomainEvent], RepeatedComplaintsNoticed | None]:
    """The ticket's link to an open ticket it repeats, and the hotspot notice when this ticket
    brings the category's tickets at the address to ``threshold`` in the window (once per
    crossing: the tickets after it add to the same case)."""
    linked: list[DomainEvent] = []
    if neighbours.open_duplicate is not None:
        linked.append(
            TicketLinkedAsDuplicate(
                ticket_id=received.ticket_id,
                duplicate_of=neighbours.open_duplicate,
                reason="the same category at the same address, while that ticket is open",
            )
        )
    notice = None
    tickets = [*neighbours.recent, received.ticket_id]
    if received.kind == TicketKind.COMPLAINT and len(tickets) == threshold:
        key = normalise_address(received.address)
        hotspot, _ = hotspot_stream(key, received.category)
        notice = RepeatedComplaintsNoticed(
            hotspot_id=hotspot, address=received.address, address_key=key,
            category=received.category, category_name=received.category_name,
            ticket_ids=tickets, window_days=window_days,
        )  # fmt: skip
    return linked, notice


# -- the ticket's life after intake ---------------------------------------------------------------

DELIVERIES = uuid.UUID("0c3b1f6e-8d2a-5b47-9e61-4a7f2c9d8e10")
"""The UUIDv5 namespace of reply delivery ids (the idempotency key the hotline sees)."""
HANDLING = frozenset({Status.ROUTED, Status.ACCEPTED, Status.REOPENED})
"""Statuses in which the grid owes a reply, and the deadline runs."""


def _require(ticket: Ticket, allowed: frozenset[Status], step: str) -> None:
    if ticket.status not in allowed:
        raise WrongStatus(f"a {ticket.status} ticket cannot be {step}", field="status")


def route(ticket: Ticket, match: Match) -> list[DomainEvent]:
    """Dispatch to the matched grid (from intake, or by staff out of triage)."""
    _require(ticket, frozenset({Status.RECEIVED, Status.TRIAGE}), "routed")
    return [
        TicketRoutedToGrid(
            ticket_id=ticket.ticket_id, grid_id=match.grid_id, method=match.method,
            place_id=match.place_id, score=match.score, detail=match.detail,
        )
    ]  # fmt: skip


def hold_for_triage(ticket: Ticket, reasons: list[str]) -> list[DomainEvent]:
    """Park a ticket no rule could route, with why."""
    _require(ticket, frozenset({Status.RECEIVED}), "queued for triage")
    return [TicketAwaitingTriage(ticket_id=ticket.ticket_id, reasons=reasons)]


def give_back(
    ticket: Ticket, reason: str, *, by: Literal["routing", "staff"], seal: Seal | None = None
) -> list[DomainEvent]:
    """Return the ticket to the hotline (退单): only before the grid accepted it. Staff's reason
    is free text (sealed, redacted in clear); routing's is its own words about the address."""
    _require(ticket, frozenset({Status.RECEIVED, Status.TRIAGE, Status.ROUTED}), "returned")
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


def accept(ticket: Ticket) -> list[DomainEvent]:
    """The grid signs for the ticket (签收)."""
    _require(ticket, frozenset({Status.ROUTED}), "accepted")
    assert ticket.grid_id is not None
    return [TicketAccepted(ticket_id=ticket.ticket_id, grid_id=ticket.grid_id)]


def request_extension(
    ticket: Ticket, *, until: datetime, reason: str, now: datetime, seal: Seal | None = None
) -> list[DomainEvent]:
    """Ask for more time: while handling, before the deadline, one request at a time."""
    _require(ticket, HANDLING, "extended")
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
    _require(ticket, frozenset({Status.ACCEPTED, Status.REOPENED}), "replied to")
    delivery = uuid.uuid5(DELIVERIES, f"{ticket.ticket_id}:{version}")
    return [
        TicketReplied(
            ticket_id=ticket.ticket_id, reply=redacted(text, REPLY_LENGTH), solved=solved,
            at_source=at_source, delivery_id=delivery, sealed=sealed_texts(seal, reply=text),
        )
    ]  # fmt: skip


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
    _require(ticket, frozenset({Status.REPLIED}), "followed up")
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


# -- what the cases service's facts mean for a ticket ---------------------------------------------
# The grid works a routed ticket as a case in the cases service. Its events have happened: these
# decisions answer any status the ticket may be in by then (staff may have accepted, replied to or
# returned it here meanwhile) with nothing rather than a refusal, which would hold back every later
# event of the reaction's partition.

REPLY_LENGTH = 4000
"""The longest reply the hotline takes (``TicketReplied.reply``)."""


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


def retry_delivery(ticket: Ticket) -> list[DomainEvent]:
    """Staff send a dead-lettered reply again."""
    if ticket.delivery_id is None or not ticket.dead_letter:
        raise WrongStatus("the ticket has no dead-lettered reply", field="delivery")
    return [ReplyDeliveryRetried(ticket_id=ticket.ticket_id, delivery_id=ticket.delivery_id)]
