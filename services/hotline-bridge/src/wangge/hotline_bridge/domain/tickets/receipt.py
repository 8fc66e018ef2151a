"""Taking a ticket in (受理) and sending it on (派单): the push checked and decided, its fingerprint
for idempotent intake, the repeats (重复工单) and repeated complaints (未诉先办) it links to, and
routing's decisions: to a grid, to the triage queue, or back to the hotline (退单)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from wangge.events import DomainEvent
from wangge.events.sealed import Seal
from wangge.governance.addresses import normalise_address
from wangge.governance.errors import Conflict
from wangge.governance.personal import mask_name, mask_phone, normalise_phone
from wangge.governance.redaction import redact
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue, TicketKind
from wangge.hotline_bridge.domain.routing import Match, Unroutable
from wangge.hotline_bridge.domain.tickets.events import (
    Channel,
    Door,
    Location,
    RepeatedComplaintsNoticed,
    TicketAwaitingTriage,
    TicketLinkedAsDuplicate,
    TicketReceived,
    TicketReturned,
    TicketRoutedToGrid,
    Urgency,
)
from wangge.hotline_bridge.domain.tickets.lifecycle import (
    InvalidTicket,
    Status,
    Ticket,
    redacted,
    require,
    sealed_texts,
    ticket_id,
)

__all__ = [
    "CLOCK_SKEW",
    "HOTSPOTS",
    "KEYED",
    "Digest",
    "Intake",
    "Neighbours",
    "TicketNumberReused",
    "dispatch",
    "give_back",
    "hold_for_triage",
    "hotspot_stream",
    "keyed_fingerprint",
    "link",
    "receive",
    "route",
    "same_push",
]

CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a ticket's receipt time may lie (the hotline's clock, not ours)."""
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
