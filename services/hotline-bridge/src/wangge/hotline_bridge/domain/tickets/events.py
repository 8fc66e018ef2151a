"""The ticket's events (one stream per ticket, ``ticket-<uuid>``; a hotspot's on its own) and the
values they carry: the facts the hotline bridge publishes."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Sealed
from wangge.governance.erasure import ErasureGround
from wangge.hotline_bridge.domain.catalogue import TicketKind
from wangge.hotline_bridge.domain.routing import RoutingMethod

__all__ = [
    "SEALED_DESCRIPTION",
    "SERVICE",
    "CallerErased",
    "Channel",
    "Door",
    "Location",
    "RepeatedComplaintsNoticed",
    "ReplyDelivered",
    "ReplyDeliveryFailed",
    "ReplyDeliveryRetried",
    "Satisfaction",
    "TicketAccepted",
    "TicketAwaitingTriage",
    "TicketClosed",
    "TicketExtensionDecided",
    "TicketExtensionRequested",
    "TicketFollowedUp",
    "TicketLinkedAsDuplicate",
    "TicketReceived",
    "TicketReminderRaised",
    "TicketReopened",
    "TicketReplied",
    "TicketReturned",
    "TicketRoutedToGrid",
    "Urgency",
]

SERVICE = "hotline_bridge"
Door = Literal["hotline", "open311"]
"""How a ticket came in: pushed by the 12345 platform, or posted through Open311 GeoReport v2."""


SEALED_DESCRIPTION = (
    "the step's free texts in full, sealed with the ticket's data key; none when the caller "
    "was erased before the step (its clear fields are then all there is)"
)


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


class Satisfaction(StrEnum):
    """The caller's rating at the follow-up call (回访)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


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
