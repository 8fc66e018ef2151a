"""Tickets of the 12345 hotline: what a pushed ticket becomes, and when it is due.

A ticket's number is the hotline's; the ticket's id is derived from it (UUIDv5), so the same push
twice lands on the same stream and intake is idempotent by number without a lookup table. The
caller's name and phone are sealed with a data key of the ticket's own (the hotline's caller is a
person like any resident: erasing the key erases them from every copy of the log).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealing import Seal, Sealed
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue, TicketKind
from wangge.service.addresses import normalise_address
from wangge.service.errors import Conflict, DomainError
from wangge.service.personal import mask_name, mask_phone, normalise_phone

SERVICE = "hotline_bridge"
TICKET_IDS = uuid.UUID("5d0c7a52-3f43-5c0e-9a7e-12345a0b1d6e")
"""The UUIDv5 namespace of ticket ids (never change it: ids derive from it)."""
CLOCK_SKEW = timedelta(minutes=5)
Door = Literal["hotline", "open311"]
"""How a ticket came in: pushed by the 12345 platform, or posted through Open311 GeoReport v2."""
"""How far in the future a ticket's receipt time may lie (the hotline's clock, not ours)."""


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
    content: str
    address: str
    location: Location | None = None
    urgency: Urgency
    deadline: AwareDatetime = Field(description="when the reply is due")
    deadline_source: Literal["hotline", "catalogue"]
    caller: Sealed | None = Field(default=None, description='{"name", "phone"}, sealed')
    caller_name_masked: str | None = None
    caller_phone_masked: str | None = None
    push_fingerprint: str = Field(description="digest of the push, for idempotent intake")
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
    intake: Intake, *, catalogue: DispatchCatalogue, now: datetime, seal: Seal
) -> list[DomainEvent]:
    """Decide the intake of a pushed ticket: its category, its deadline, its sealed caller."""
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
    caller = None
    if intake.caller_name or phone:
        caller = seal({"name": intake.caller_name, "phone": phone})
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
            content=intake.content,
            address=intake.address,
            location=intake.location,
            urgency=intake.urgency,
            deadline=deadline,
            deadline_source="hotline" if intake.deadline is not None else "catalogue",
            caller=caller,
            caller_name_masked=mask_name(intake.caller_name) if intake.caller_name else None,
            caller_phone_masked=mask_phone(phone) if phone else None,
            push_fingerprint=intake.fingerprint,
            door=intake.door,
        )
    ]


@dataclass(frozen=True)
class Ticket:
    """A ticket's state, as far as deciding on it needs."""

    ticket_id: uuid.UUID
    ticket_number: str
    push_fingerprint: str


def evolve(state: Ticket | None, event: DomainEvent, version: int) -> Ticket:
    """Fold one event into a ticket's state."""
    if isinstance(event, TicketReceived):
        return Ticket(event.ticket_id, event.ticket_number, event.push_fingerprint)
    if state is None:
        raise ValueError(f"a ticket stream starts with TicketReceived, not {type(event).__name__}")
    return state


def same_push(ticket: Ticket, intake: Intake) -> None:
    """Whether a push under a known number is the first again (else a 409)."""
    if ticket.push_fingerprint != intake.fingerprint:
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
